"""docs/research.md's walk-through runs as written: its shell blocks, in one shell, over a shorter
history (fetched from 2022-06 on, not 2021-01) and with the five hourly strategies shrunk in the
workspace (one epoch, short folds), which shadows the built-in ones of the same names."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "research.md"
STRATEGIES = ["hourly_mlp", "hourly_lstm", "hourly_gru", "hourly_ensemble", "hourly_topk"]
SHORTER = ("--start 2021-01-04", "--start 2022-06-01")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shrunk(name: str) -> dict:
    """The built-in strategy with folds that fit the shorter history and models that train in a moment."""
    strategy = tomllib.loads((ROOT / "strategies" / f"{name}.toml").read_text())
    signal = strategy["signal"]
    signal["walk_forward"] = {**signal["walk_forward"], "train_bars": 300, "predict_bars": 250}
    if signal["kind"] == "model":
        signal["hyperparameters"] = {**signal["hyperparameters"], "hidden": 4, "epochs": 1}
    for overlay in strategy["overlays"]:
        if "calibrate" in overlay:
            overlay["calibrate"]["validation_bars"] = 50
    return strategy


def test_the_walkthrough_runs_as_written(tmp_path):
    text = DOC.read_text()
    assert SHORTER[0] in text
    script = "\n".join(re.findall(r"```bash\n(.*?)```", text, flags=re.S))
    script = script.replace(*SHORTER).replace("8765", str(free_port()))
    strategies = tmp_path / "research" / "strategies"
    strategies.mkdir(parents=True)
    for name in STRATEGIES:
        (strategies / f"{name}.toml").write_text(tomli_w.dumps(shrunk(name)))
    # `engine` is this checkout's, a process of its own (as the installed command is), so `$!` and
    # `kill` reach the sandbox itself; python3 is the one running the tests.
    commands = tmp_path / "bin"
    commands.mkdir()
    (commands / "engine").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m engine "$@"\n')
    (commands / "engine").chmod(0o755)
    environment = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": os.pathsep.join([str(commands), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "PYTHONPATH": str(ROOT),
    }
    # A failing step must not leave the sandbox (or the session) running, holding the output's pipes open.
    shell = "set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
    done = subprocess.run(["bash", "-c", shell], env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout.split("# the runs compared")[1]
    rows = [line.split("\t") for line in summary.splitlines()[2:9]]
    assert [row[1] for row in rows[:5]] == STRATEGIES and rows[5][1] == "buy & hold"
    assert all(row[6] != "–" for row in rows[:5])  # every learned signal has its RankIC
    assert "hourly-best@1: every file matches its checksum; rebuilt from the package alone" in done.stdout
    assert "after 7 live bars" in done.stdout
