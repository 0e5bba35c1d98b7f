"""`engine ARGS` run in this process, as a user runs it but without paying for a new interpreter."""

from __future__ import annotations

import subprocess
import sys


def engine_here(monkeypatch, capsys, *args: str) -> subprocess.CompletedProcess:
    """`engine ARGS` in this process's environment (ENGINE_HOME as the test set it): a
    CompletedProcess-like result."""
    from engine.cli import main

    monkeypatch.setattr(sys, "argv", ["engine", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)
