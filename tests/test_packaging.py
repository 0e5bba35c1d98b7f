"""The engine as `pip install` leaves it, away from the checkout: a wheel installed into a fresh
virtual environment finds its built-in plugins, strategies and report templates inside itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from engine import __version__

REPO = Path(__file__).resolve().parent.parent


def run(command: list, **options) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_a_wheel_in_a_fresh_venv_backtests_and_reports_outside_the_checkout(sample_home, tmp_path):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", REPO])
    (wheel,) = (tmp_path / "dist").glob("engine-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site_packages = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # The dependencies come from this environment's site-packages, listed after the venv's own; its
    # .pth files (this checkout's editable install among them) are not read from there.
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    for folder in ("data", "models"):  # the session's sample data and trained gru93 folds, if any
        (sample_home / folder).mkdir(exist_ok=True)
        (home / folder).symlink_to(sample_home / folder, target_is_directory=True)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"ENGINE_HOME": str(home)}
    engine = [venv / "bin" / "engine"]

    located = run([python, "-c", "import engine, engine.resources as r; print(engine.__file__, r.ROOT)"], cwd=elsewhere, env=env)
    module, root = located.stdout.split()
    assert module.startswith(str(site_packages)) and root == str(site_packages / "engine" / "_builtin")
    assert run([*engine, "--version"], cwd=elsewhere, env=env).stdout.strip() == f"engine {__version__}"
    for strategy in ("sma_cross", "gru93"):
        result = run([*engine, "backtest", "--strategy", strategy, "--json"], cwd=elsewhere, env=env)
        payload = json.loads(result.stdout.strip().splitlines()[-1])
        report = home / "runs" / payload["run_id"] / "report"
        assert (report / "report.html").stat().st_size > 0 and len(list((report / "charts").glob("*.png"))) == 10
    plugins = "from engine.plugins.registry import registry_of; r = registry_of(); print(len(r.failures), *r.names('model'))"
    assert run([python, "-c", plugins], cwd=elsewhere, env=env).stdout.split() == ["0", "cnn_lstm", "gru", "lstm", "mlp"]
