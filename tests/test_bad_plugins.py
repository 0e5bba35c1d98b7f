"""Bad and broken plugins (issue 12, D10 and D13–D16): a plugin's fault is one line naming the plugin
and what it was doing, exit 2, never a traceback; a plugin that cannot load is listed as broken and
the others keep working.

Each test drops its plugins into a workspace of its own (the `cli` fixture's is shared by the session).
"""

from __future__ import annotations

import shutil
import textwrap

import pytest

from engine.data.store import DataStore
from engine.plugins.registry import BUILTIN_FOLDER, discover
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import StrategyError, parse_strategy
from tests.model_helpers import model_strategy, write_planted
from tests.test_user_errors import assert_one_line_error


@pytest.fixture
def home(cli, sample_home, tmp_path, monkeypatch):
    """A workspace of this test's own, holding a copy of the sample data; `cli` runs in it."""
    shutil.copytree(sample_home / "data", tmp_path / "data")
    (tmp_path / "plugins").mkdir()
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


# A numpy model whose calls misbehave as FAULTS says: each snippet replaces one method's body.
MODEL = """
import json
import numpy as np
from engine.models.base import Model
from engine.plugins import hookimpl


class Faulty(Model):
    name = "{name}"
    default_lookback = 5

    def fit(self, train, validation, seed):
        self.weights = np.zeros(train.sequences.shape[2])
        {fit}

    def predict(self, sequences, assets):
        {predict}

    def save(self, path):
        {save}

    @classmethod
    def load(cls, path):
        {load}


@hookimpl
def engine_models():
    return [Faulty]
"""
GOOD = {
    "fit": 'return {"steps": 0}',
    "predict": "return np.full(len(sequences), 0.5)",
    "save": "path.write_text(json.dumps([self.n_features, self.n_assets, self.lookback]))",
    "load": "model = cls(*json.loads(path.read_text()))\n        model.weights = None\n        return model",
}


def write_model(home, name: str, **faults: str) -> None:
    (home / "plugins" / f"{name}.py").write_text(MODEL.format(name=name, **(GOOD | faults)))


def strategy_file(home, plugin: str, features: str = "", **hyperparameters) -> str:
    """A model strategy on a small planted market (its own symbols beside the sample's); `features`:
    a feature provider to use instead of the model's defaults."""
    write_planted(DataStore(home / "data"), n_bars=500)
    settings = "".join(f"{key} = {value!r}\n" for key, value in hyperparameters.items()).replace("'", '"')
    path = home / f"uses_{plugin}.toml"
    path.write_text(
        textwrap.dedent(f"""
        name = "uses_{plugin}"
        [data]
        symbols = ["AAA", "BBB"]
        [signal]
        kind = "model"
        plugin = "{plugin}"
        labels = {{ horizon = 1 }}
        walk_forward = {{ train_bars = 200, predict_bars = 150 }}
        features = {[features] if features else []}
        [signal.hyperparameters]
        """)
        + settings
        + '[[overlays]]\nkind = "threshold"\nentry = 0.52\nexit = 0.48\n'
    )
    return str(path)


# D13: a plugin that fails to import, in any way, is recorded; the rest keep working.
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("raise RuntimeError('first line\\nsecond line')\n", "RuntimeError: first line second line"),
        ("class Odd(BaseException):\n    pass\n\nraise Odd('odd')\n", "Odd: odd"),
    ],
)
def test_a_plugin_that_fails_to_import_is_listed_broken_and_the_rest_work(cli, home, source, reason):
    (home / "plugins" / "broken.py").write_text(source)
    assert cli("backtest", "--strategy", "sma_cross").returncode == 0
    listing = cli("plugins", "list")
    assert listing.returncode == 0 and "\ngru\tmodel\tbuilt-in" in listing.stdout
    failure = next(line for line in listing.stderr.splitlines() if "broken" in line)
    assert failure.endswith(reason) and str(home / "plugins" / "broken.py") in failure
    assert_one_line_error(
        cli("backtest", "--strategy", strategy_file(home, "broken")),
        rf"signal\.plugin: no model plugin named 'broken' \(broken failed to load: {reason}\)",
    )


# D14, D15: every call into a model plugin is guarded the same way.
@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (
            {"predict": "return np.array(['up'] * len(sequences))"},
            r"predict returned values of dtype <U2 \(ndarray\), not numbers",
        ),
        ({"predict": "return None"}, r"predict returned values of dtype object \(NoneType\), not numbers"),
        ({"save": "raise OSError('disk full')"}, r"failed in save: OSError: disk full"),
        ({"save": "import sys\n        sys.exit(4)"}, r"failed in save: SystemExit: 4"),
        ({"fit": "raise KeyError('x')"}, r"failed in fit: KeyError: 'x'"),
        ({"fit": "return {'loss': float('nan')}"}, r"fit returned a summary that is not finite JSON"),
    ],
)
def test_a_misbehaving_model_call_is_one_line_naming_the_plugin_and_call(cli, home, faults, message):
    write_model(home, "faulty", **faults)
    assert_one_line_error(cli("backtest", "--strategy", strategy_file(home, "faulty")), rf"model plugin 'faulty'.*{message}")
    assert not [path for path in (home / "models").glob("*") if path.is_dir()]  # no fold half-stored


FEATURES = """
import numpy as np
from engine.plugins import hookimpl


class Words:
    name = "words"
    columns = ("word",)
    history = 0
    uses_volume = False

    def compute(self, bars):
        return np.full((len(bars), len(bars.symbols), 1), "up")


@hookimpl
def engine_feature_providers():
    return [Words()]
"""


def test_a_feature_provider_that_misbehaves_is_one_line_naming_it(cli, home):
    (home / "plugins" / "words.py").write_text(FEATURES)
    write_model(home, "plain")
    assert_one_line_error(
        cli("backtest", "--strategy", strategy_file(home, "plain", features="words")),
        r"feature plugin 'words' failed in compute: ValueError: could not convert string to float",
    )


def test_a_model_whose_load_fails_is_named_when_its_stored_fold_is_reused(cli, home):
    write_model(home, "unloadable", load="raise ValueError('corrupt')")
    strategy = strategy_file(home, "unloadable")
    assert cli("backtest", "--strategy", strategy).returncode == 0  # trains and stores its folds
    shutil.rmtree(home / "models" / "predictions")  # else the next run replays them, loading no fold
    assert_one_line_error(
        cli("backtest", "--strategy", strategy), r"model plugin 'unloadable' failed in load: ValueError: corrupt"
    )


# D16: a scaffold never takes a name in use; drop-in modules never collide with built-ins or each other.
def test_a_scaffold_with_a_name_in_use_is_refused(cli, home):
    (home / "plugins" / "theirs.py").write_text(MODEL.format(name="mine", **GOOD))
    assert_one_line_error(cli("plugins", "new", "gru"), r"'gru' is already a model plugin \(built-in\); choose another")
    assert_one_line_error(cli("plugins", "new", "threshold"), r"'threshold' is already an overlay plugin \(built-in\)")
    assert_one_line_error(cli("plugins", "new", "mine"), r"'mine' is already a model plugin \(drop-in .*theirs\.py\)")
    assert [path.name for path in (home / "plugins").iterdir()] == ["theirs.py"]


def test_drop_in_files_named_like_built_ins_or_each_other_load_side_by_side(home, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (home / "plugins" / "gru.py").write_text(MODEL.format(name="own_gru", **GOOD))  # the built-in's file name
    (other / "gru.py").write_text(MODEL.format(name="other_gru", **GOOD))
    plugins = discover([BUILTIN_FOLDER, home / "plugins", other], use_entry_points=False)
    assert not plugins.failures, plugins.failures
    modules = {entry.name: entry.module for entry in plugins.entries if entry.kind == "model"}
    assert len({modules["gru"], modules["own_gru"], modules["other_gru"]}) == 3


# D10: hyperparameters have their defaults' types, checked before any model is built.
@pytest.mark.parametrize(
    ("value", "wrong"),
    [("big", "'big'"), (2.5, "2.5"), (True, "True")],
)
def test_a_hyperparameter_of_the_wrong_type_is_named_at_load(value, wrong):
    raw = model_strategy("gru").model_dump()
    raw["signal"]["hyperparameters"]["hidden"] = value
    pattern = rf"s\.toml: signal\.hyperparameters: hidden must be an integer for model 'gru' \(its default is 64\), not {wrong}"
    with pytest.raises(StrategyError, match=pattern):
        resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")


def test_hyperparameters_of_compatible_types_are_accepted():
    raw = model_strategy("gru", learning_rate=1, dropout=0, loss="focal").model_dump()
    resolved = resolve_strategy(parse_strategy(raw, "s.toml"), "s.toml")
    assert resolved.model.hyperparameters["learning_rate"] == 1


def test_a_wrong_hyperparameter_in_a_strategy_file_is_one_line(cli, home):
    strategy = strategy_file(home, "gru", hidden="big")
    assert_one_line_error(
        cli("backtest", "--strategy", strategy),
        r"uses_gru.*: signal\.hyperparameters: hidden must be an integer for model 'gru' \(its default is 64\), not 'big'",
    )
