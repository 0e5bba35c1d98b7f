"""A plugin's fault, as the user sees it: one line naming the plugin, what the engine asked of it and
what went wrong, never a traceback through the engine.

Every call into plugin code (importing it, its hooks, a model's fit, predict, save and load, building
its network) runs inside `guarded`, so a plugin's bug, or a plugin that calls `sys.exit`, is reported
the same way wherever it happens. Only KeyboardInterrupt and user errors pass through: they are the
user's, not the plugin's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import UserError


class PluginError(UserError, LookupError):
    """A plugin is missing, broken or misbehaving; the message names it."""


def describe(error: BaseException) -> str:
    """`Type: message` on one line, whatever the message's own line breaks."""
    message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class PluginFault(PluginError):
    """Plugin code raised (or exited) while `doing` something; `reason` is its error on one line."""

    def __init__(self, plugin: str, doing: str, error: BaseException) -> None:
        self.reason = describe(error)
        super().__init__(f"{plugin} failed {doing}: {self.reason}")


@contextmanager
def guarded(plugin: str, doing: str) -> Iterator[None]:
    """Run plugin code: any fault of its own becomes a `PluginFault` ("model plugin 'x'", "in save").
    A user error passes unchanged: it already says what is wrong (a PluginError from a guarded call
    nested in another, or the engine's own check of the user's input, such as ENGINE_DEVICE)."""
    try:
        yield
    except (KeyboardInterrupt, UserError):
        raise
    except BaseException as error:  # SystemExit included: a plugin must not end the engine
        raise PluginFault(plugin, doing, error) from error
