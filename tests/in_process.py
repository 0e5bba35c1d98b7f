"""`engine ARGS` run in this process, as a user runs it but without paying for a new interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def engine_here(monkeypatch, capsys, home: Path, *args: str) -> subprocess.CompletedProcess:
    """`engine ARGS` with ENGINE_HOME=home: a CompletedProcess-like result."""
    from engine.cli import main

    monkeypatch.setenv("ENGINE_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["engine", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)
