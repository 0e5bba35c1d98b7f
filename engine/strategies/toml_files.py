"""Reading a TOML file a user wrote (a strategy, a search space) with one kind of error for every way it can be bad."""

from __future__ import annotations

import tomllib
from pathlib import Path

from engine.errors import UserError


def read_toml(path: Path, error: type[UserError] = UserError) -> dict:
    """The file's table; a folder, an unreadable file, text that is not UTF-8 or not TOML raise `error` naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a TOML file") from None
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text (byte {problem.object[problem.start]:#04x} at offset {problem.start})") from None
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read: {problem.strerror}") from None
