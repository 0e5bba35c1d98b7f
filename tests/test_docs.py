"""The docs' examples run: every Python block of the README, and the plugin guide's worked example
from its files to a backtest and a chunk check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.data.sample import write_sample
from engine.strategies.files import load_strategy
from engine.usecases.backtest import prepare, run_backtest
from engine.usecases.check import check_chunk_invariance
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)


@pytest.fixture
def readme_home(sample_home, tmp_path, monkeypatch):
    """A workspace of its own (the examples store runs) with the sample's bars and any folds trained on them."""
    for folder in ("data", "models"):
        if (sample_home / folder).exists():
            shutil.copytree(sample_home / folder, tmp_path / folder)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("index", range(len(blocks(ROOT / "README.md", "python"))))
def test_readme_python_examples_run(readme_home, index, capsys):
    exec(compile(blocks(ROOT / "README.md", "python")[index], f"README.md python block {index}", "exec"), {})


def test_plugin_guide_worked_example(tmp_path, monkeypatch):
    guide = ROOT / "docs" / "plugins.md"
    plugin = next(block for block in blocks(guide, "python") if "class LastBarLogit" in block)
    strategy = next(block for block in blocks(guide, "toml") if 'name = "my_logit"' in block)
    write_sample(Workspace(tmp_path).data)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "last_bar_logit.py").write_text(plugin)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "my_logit.toml").write_text(strategy)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = run_backtest(load_strategy("my_logit", Workspace(tmp_path)), Workspace(tmp_path))
    assert len(result.fold_metrics()) > 0 and result.metrics["bars"] > 0
    prepared = prepare(load_strategy("my_logit", Workspace(tmp_path)), Workspace(tmp_path))
    report = check_chunk_invariance(prepared, (7,))
    assert report.passed


def test_the_tui_screenshots_are_its_current_snapshots():
    """docs/tui/*.svg (in the README and docs/tui.md) are copies of the TUI's snapshot tests' SVGs:
    after `--snapshot-update`, copy the changed ones over."""
    snapshots = {path.read_bytes() for path in (ROOT / "tests" / "__snapshots__").glob("test_tui*/*.svg")}
    screenshots = sorted((ROOT / "docs" / "tui").glob("*.svg"))
    assert len(screenshots) == 8
    assert [path.name for path in screenshots if path.read_bytes() not in snapshots] == []
