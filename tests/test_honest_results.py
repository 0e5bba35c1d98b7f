"""Annualization from the data's sessions, and results too good to be true flagged, not passed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.analytics.annualization import annualization
from engine.analytics.plausibility import implausibilities
from engine.strategies.files import load_strategy
from engine.usecases.backtest import run_backtest
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, write_planted
from tests.test_cli import engine

LEAKY_FEATURE = '''
import numpy as np
from engine.plugins import hookimpl


class Tomorrow:
    """A planted leak: tomorrow's return, as if it were known today."""

    name = "tomorrow"
    columns = ("next_return",)
    history = 0

    def compute(self, bars):
        nxt = np.vstack([bars.close[1:] / bars.close[:-1] - 1.0, np.zeros((1, len(bars.symbols)))])
        return nxt[:, :, None]


@hookimpl
def engine_feature_providers():
    return [Tomorrow()]
'''


def test_hourly_bars_are_annualized_by_the_sessions_in_the_data(store):
    strategy = load_strategy("sma_cross").with_overrides(data={"symbols": ["SYN00"], "timeframe": "1h"})
    bars = store.load(["SYN00"], "1h")
    inferred = annualization(strategy, bars.timestamps)
    assert inferred.periods_per_year == 7 * 252  # the sample's sessions have seven hourly bars
    assert "7 1h bars a trading day in the data" in inferred.basis
    assert annualization(load_strategy("sma_cross"), np.array([], dtype="datetime64[ns]")).periods_per_year == 252
    declared = strategy.with_overrides(execution={"periods_per_year": 1638.0})
    assert annualization(declared, bars.timestamps).periods_per_year == 1638.0


def test_the_backtest_says_which_annualization_it_used(sample_home):
    result = engine(sample_home, "backtest", "--strategy", "sma_cross", "--symbols", "SYN00,SYN01", "--timeframe", "1h")
    assert "annualized with 1764 bars a year (7 1h bars a trading day in the data × 252)" in " ".join(result.stdout.split())
    run_dir = result.stdout.split("stored in ")[1].split()[0]
    config = json.loads(open(f"{run_dir}/config.json").read())
    assert config["periods_per_year"] == 1764


def test_implausible_figures_are_each_named():
    assert implausibilities({"sharpe": 1.2, "win_rate": 0.95, "trades": 10}) == []
    warnings = implausibilities({"sharpe": 5.1, "win_rate": 0.95, "trades": 40}, [{"roc_auc": 0.99}, {"roc_auc": 0.6}])
    assert len(warnings) == 3
    assert "1 of 2 walk-forward folds have an out-of-sample ROC-AUC above 0.9 (up to 0.990)" in warnings[0]
    assert "Sharpe of 5.10" in warnings[1] and "95% of 40 trades won" in warnings[2]
    assert all("engine check" in warning for warning in warnings)


@pytest.fixture(scope="module")
def leaky_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("leaky")
    write_planted(Workspace(home).data)
    (home / "plugins").mkdir()
    (home / "plugins" / "tomorrow.py").write_text(LEAKY_FEATURE)
    return home


def test_a_model_that_sees_tomorrow_is_flagged(leaky_home, monkeypatch):
    monkeypatch.setenv("ENGINE_HOME", str(leaky_home))
    leaky = model_strategy("mlp")
    leaky = leaky.model_copy(update={"signal": leaky.signal.model_copy(update={"features": ["tomorrow"]})})
    result = run_backtest(leaky, Workspace(leaky_home))
    assert max(fold["roc_auc"] for fold in result.fold_metrics()) > 0.9
    assert any("ROC-AUC above 0.9" in warning for warning in result.warnings)
    assert any("Sharpe" in warning for warning in result.warnings)
