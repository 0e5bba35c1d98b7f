"""docs/research.ipynb, the Python API's walk-through, runs top to bottom in a fresh workspace on the
sample data (nbclient, a real IPython kernel) and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from engine.data.sample import write_sample
from engine.workspace import Workspace

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "research.ipynb"


def shown(cell) -> str:
    """Everything a code cell displayed: text, HTML, and whether it drew a picture."""
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        parts += [output.get("text", ""), data.get("text/plain", ""), data.get("text/html", "")]
        parts += ["<image>"] if "image/png" in data else []
    return "\n".join(parts)


def test_the_notebook_runs_gru93_and_a_plugin_of_ones_own(tmp_path, monkeypatch):
    write_sample(Workspace(tmp_path).data)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    NotebookClient(notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    by_source = {cell.source.splitlines()[0]: shown(cell) for cell in code}
    assert "Research(" in by_source["import engine"]
    gru93 = by_source['gru93 = research.backtest("gru93")']
    assert "101,843.64" in gru93 and "buy &amp; hold" in gru93 and "sma_cross" in gru93  # make run's figure
    assert "<image>" in by_source["gru93.plot();"]
    assert "8 walk-forward folds" in by_source['research.train("gru93")']
    assert "daily_loss" in by_source['gated = research.backtest("gru93", size_at="close", kill_switch="daily_loss=0.02")']
    assert "last_bar" in by_source['mine = research.backtest("last_bar")']
    assert "chunk-invariant" in by_source['research.check("last_bar", chunks=(7,))']
    assert "Pareto front" in by_source['study = research.optimize("sma_cross", trials=8, seed=0)']
    runs = Workspace(tmp_path).runs.list()
    assert sorted(run.kind for run in runs) == ["backtest", "backtest", "backtest", "study"]


def test_the_package_face_is_light():
    """`import engine` gives the API without importing the backtesting stack."""
    import subprocess
    import sys

    heavy = "('torch', 'vectorbt', 'pandas')"
    code = f"import sys, engine; engine.open_workspace; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
