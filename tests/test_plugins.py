"""Plugins written outside the package: discovered as a drop-in file or an installed entry point,
backtested end to end; broken ones named with their error while the others keep working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.plugins.registry import BUILTIN_FOLDER, PluginError, discover
from engine.plugins.scaffold import network_for, plugin_source
from engine.usecases.backtest import prepare
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, write_planted

# A non-torch model: logistic regression on the last bar's features (numpy only, shows the bare contract).
OUTSIDE_MODEL = """
import json
import numpy as np
from engine.models.base import Model
from engine.plugins import hookimpl

MODE = "{mode}"


class Logistic(Model):
    name = "{name}"
    version = "2.5"
    default_lookback = 5
    default_hyperparameters = {{"steps": 200, "rate": 0.1}}

    def fit(self, train, validation, seed):
        x = train.sequences[:, -1, :]
        self.weights = np.zeros(x.shape[1])
        for _ in range(self.hyperparameters["steps"]):
            p = 1 / (1 + np.exp(-x @ self.weights))
            self.weights -= self.hyperparameters["rate"] * x.T @ (p - train.labels) / len(x)
        return {{"steps": self.hyperparameters["steps"]}}

    def predict(self, sequences, assets):
        p = 1 / (1 + np.exp(-sequences[:, -1, :] @ self.weights))
        if MODE == "raises":
            raise RuntimeError("boom")
        if MODE == "shape":
            return p[:, None].repeat(2, axis=1)
        if MODE == "nan":
            p[0] = np.nan
        if MODE == "range":
            p = p * 2
        return p

    def save(self, path):
        path.write_text(json.dumps({{"weights": self.weights.tolist()}}))

    @classmethod
    def load(cls, path):
        raise NotImplementedError


@hookimpl
def engine_models():
    return [Logistic]
"""


def write_plugin(folder, name, mode="ok", filename=None):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{filename or name}.py"
    path.write_text(OUTSIDE_MODEL.format(name=name, mode=mode))
    return path


@pytest.fixture
def planted_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    workspace = Workspace(tmp_path)
    write_planted(workspace.data, n_bars=1200)
    return workspace


def strategy_for(plugin):
    strategy = model_strategy("mlp")
    signal = strategy.signal.model_copy(update={"plugin": plugin, "lookback": None, "hyperparameters": {}})
    return strategy.model_copy(update={"signal": signal})


def strategy_file_for(plugin: str, workspace: Workspace) -> Path:
    """A strategy file whose model is `plugin`, on the planted data."""
    strategy_file = workspace.root / f"uses_{plugin}.toml"
    strategy_file.write_text(
        textwrap.dedent(f"""
        name = "uses_{plugin}"
        [data]
        symbols = ["AAA", "BBB"]
        [signal]
        kind = "model"
        plugin = "{plugin}"
        labels = {{ horizon = 1 }}
        walk_forward = {{ train_bars = 500, predict_bars = 300 }}
        [[overlays]]
        kind = "threshold"
        entry = 0.52
        exit = 0.48
        """)
    )
    return strategy_file


def backtest_with(plugin: str, workspace: Workspace, env: dict) -> dict:
    """`engine backtest --json` of a strategy file that uses `plugin`; returns the JSON line."""
    command = [sys.executable, "-m", "engine", "backtest", "--strategy", str(strategy_file_for(plugin, workspace)), "--json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["metrics"]["trades"] > 0
    folds = json.loads((workspace.root / "runs" / payload["run_id"] / "folds.json").read_text())["folds"]
    assert len(folds) >= 2 and all(fold["roc_auc"] is not None for fold in folds)
    return payload


def test_a_drop_in_file_is_discovered_and_backtested_end_to_end(planted_workspace):
    write_plugin(planted_workspace.root / "plugins", "outside_logit")
    plugins = discover([BUILTIN_FOLDER, planted_workspace.plugins])
    entry = next(e for e in plugins.entries if e.name == "outside_logit")
    assert (entry.kind, entry.version) == ("model", "-") and entry.origin.startswith("drop-in ")
    backtest_with("outside_logit", planted_workspace, {**os.environ, "ENGINE_HOME": str(planted_workspace.root)})


def test_an_installed_entry_point_is_discovered_and_backtested(planted_workspace, tmp_path):
    package = tmp_path / "pkg"
    write_plugin(package / "someone_model", "someone_logit", filename="__init__")
    (package / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "someone-model"
        version = "2.5.0"
        [project.entry-points."engine.plugins"]
        someone = "someone_model"
        [tool.setuptools]
        packages = ["someone_model"]
        """)
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, str(package)], check=True, capture_output=True)
    env = {**os.environ, "ENGINE_HOME": str(planted_workspace.root), "PYTHONPATH": str(site), "COLUMNS": "250"}
    listing = subprocess.run([sys.executable, "-m", "engine", "plugins", "list"], env=env, capture_output=True, text=True)
    line = next(line for line in listing.stdout.splitlines() if "someone_logit" in line)
    assert "entry point someone_model (someone-model)" in line and "2.5.0" in line
    backtest_with("someone_logit", planted_workspace, env)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("raises", r"model plugin 'bad_logit' failed in predict: RuntimeError: boom"),
        ("shape", r"model plugin 'bad_logit': predict returned shape \(\d+, 2\), expected \(\d+,\)"),
        ("nan", r"model plugin 'bad_logit': predict returned NaN"),
        ("range", r"model plugin 'bad_logit': predict returned values outside \[0, 1\]"),
    ],
)
def test_a_misbehaving_model_is_named(planted_workspace, mode, message):
    write_plugin(planted_workspace.root / "plugins", "bad_logit", mode)
    with pytest.raises(PluginError, match=message):
        prepare(strategy_for("bad_logit"), planted_workspace)


BROKEN_NETWORK = """
from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


class OddNetwork(TorchModel):
    name = "odd_net"
    network_defaults = {"hidden": 7}

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        raise ValueError(f"hidden must be even, got {hyperparameters['hidden']}")


@hookimpl
def engine_models():
    return [OddNetwork]
"""


def test_a_network_builder_that_raises_is_one_line_naming_the_plugin(planted_workspace):
    (planted_workspace.root / "plugins").mkdir()
    (planted_workspace.root / "plugins" / "odd_net.py").write_text(BROKEN_NETWORK)
    command = [sys.executable, "-m", "engine", "backtest", "--strategy", str(strategy_file_for("odd_net", planted_workspace))]
    env = {**os.environ, "ENGINE_HOME": str(planted_workspace.root), "COLUMNS": "250"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    line = "error: model plugin 'odd_net' failed to build its network: ValueError: hidden must be even, got 7"
    assert result.stderr.strip().splitlines()[-1] == line and "Traceback" not in result.stderr  # after progress lines


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_still_work(tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "fine_logit")
    (folder / "broken.py").write_text("import not_a_real_module\n")
    (folder / "wrong_type.py").write_text(
        "from engine.plugins import hookimpl\n\n@hookimpl\ndef engine_models():\n    return ['not a class']\n"
    )
    plugins = discover([folder], use_entry_points=False)
    assert plugins.names("model") == ["fine_logit"]
    failures = {failure.plugin: failure.error for failure in plugins.failures}
    assert "ModuleNotFoundError: No module named 'not_a_real_module'" in failures["broken"]
    assert "engine_models must return Model subclasses" in failures["wrong_type"]
    with pytest.raises(PluginError, match=r"no model plugin named 'broken' \(broken failed to load: ModuleNotFoundError"):
        plugins.get("model", "broken")


def test_unknown_plugin_names_and_hyperparameters_are_rejected_at_load(tmp_path):
    from engine.strategies.resolution import resolve_strategy
    from engine.strategies.schema import StrategyError, parse_strategy

    raw = model_strategy("gru").model_dump()
    raw["signal"]["plugin"] = "nope"
    with pytest.raises(StrategyError, match=r"signal.plugin: no model plugin named 'nope'; available: cnn_lstm, gru"):
        resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")
    raw = model_strategy("gru").model_dump()
    raw["signal"]["hyperparameters"]["hiddne"] = 3
    with pytest.raises(StrategyError, match=r"signal.hyperparameters: model 'gru' has no hyperparameter\(s\) hiddne"):
        resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")
    raw = model_strategy("gru").model_dump()
    raw["overlays"] = [{"kind": "threshold", "entry": 0.4, "exit": 0.6}]
    with pytest.raises(StrategyError, match=r"overlays\[0\]: Value error, exit \(0.6\) must not be above entry \(0.4\)"):
        resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")
    raw["overlays"] = [{"kind": "teleport"}]
    with pytest.raises(StrategyError, match=r"overlays\[0\].kind: no overlay plugin named 'teleport'"):
        resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")


def test_scaffolded_plugin_passes_its_own_test(tmp_path):
    env = {**os.environ, "ENGINE_HOME": str(tmp_path)}
    new = [sys.executable, "-m", "engine", "plugins", "new", "my_tcn"]
    created = subprocess.run(new, env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    assert "my_tcn.py: a temporal convolutional network" in created.stdout
    plugins = discover([tmp_path / "plugins"], use_entry_points=False)
    model = plugins.get("model", "my_tcn")
    assert model.__name__ == "MyTcnModel" and "temporal convolutional network" in model.__doc__
    assert next(entry for entry in plugins.entries if entry.name == "my_tcn").version == "0.1.0"  # the module's own
    plugin = tmp_path / "plugins" / "my_tcn.py"
    probe = f"import runpy, sys; runpy.run_path({str(plugin)!r}); print('torch' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr  # discovering it costs no torch import
    plugin.write_text(plugin.read_text().replace("default_lookback = 24", "default_lookback = 12"))  # its test follows
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "plugins" / "test_my_tcn.py")],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    again = subprocess.run(new, env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "'my_tcn' is already a model plugin (drop-in" in again.stderr
    assert network_for("alpha_net") == "lstm" and '"""alpha_net: an LSTM over the lookback window."""' in plugin_source(
        "alpha_net", "lstm"
    )
