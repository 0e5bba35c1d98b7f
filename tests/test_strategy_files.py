"""Strategy files are validated with errors that name the file and the field."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analytics.annualization import annualization
from engine.strategies.files import load_strategy
from engine.strategies.schema import StrategyError
from engine.usecases.backtest import run_backtest

VALID = """
name = "mine"
[data]
symbols = ["SP500"]
[signal]
kind = "sma_cross"
fast = 5
slow = 20
"""


def load_text(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return load_strategy(str(path)), path


def test_a_valid_file_gets_the_documented_defaults(tmp_path):
    strategy, _ = load_text(tmp_path, VALID)
    assert strategy.costs.commission_bps == 10 and strategy.costs.slippage_bps == 5
    assert strategy.execution.fractional_shares and not strategy.execution.allow_short
    assert annualization(strategy, np.array([], dtype="datetime64[ns]")).periods_per_year == 252


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("fast = 5", "fats = 5"), r"signal\.sma_cross\.fats: Extra inputs are not permitted"),
        (lambda t: t.replace("fast = 5", 'fast = "five"'), r"signal\.sma_cross\.fast: Input should be a valid integer"),
        (lambda t: t.replace("fast = 5", "fast = 50"), r"fast \(50\) must be shorter than slow \(20\)"),
        (
            lambda t: t.replace('kind = "sma_cross"', 'kind = "magic"'),
            r"signal: Input tag 'magic' found using 'kind' does not match",
        ),
        (lambda t: t + "\n[costs]\ncommission_bps = -1\n", r"costs\.commission_bps: Input should be greater than or equal to 0"),
        (lambda t: t + "\nleverage = 3\n", r"leverage: Extra inputs are not permitted"),
        (lambda t: t.replace('symbols = ["SP500"]', "symbols = []"), r"data\.symbols: List should have at least 1 item"),
        (lambda t: t.replace("[data]", '[data]\ntimeframe = "daily"'), r"data\.timeframe: .*invalid timeframe"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, message):
    text = change(VALID)
    with pytest.raises(StrategyError, match=message) as caught:
        load_text(tmp_path, text)
    assert "mine.toml" in str(caught.value)


def test_unreadable_toml_and_unknown_names(tmp_path):
    with pytest.raises(StrategyError, match=r"mine.toml: not valid TOML"):
        load_text(tmp_path, "name = ")
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'; known: .*sma_cross"):
        load_strategy("nope")


def test_missing_data_is_named(tmp_path, workspace):
    strategy, _ = load_text(tmp_path, VALID.replace('"SP500"', '"SP500", "MISSING"'))
    with pytest.raises(LookupError, match="no 1d bars for MISSING"):
        run_backtest(strategy, workspace)
