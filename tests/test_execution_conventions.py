"""DESIGN §3 on hand-made prices where the right fills are known, through both execution paths."""

from __future__ import annotations

import numpy as np
import pytest

from engine.execution.conventions import ExecutionRules
from tests.helpers import FixedWeights, make_bars, run_stages

RULES = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=10_000.0)


def run(bars, weights, rules=RULES, mode="replay", chunk=None):
    return run_stages([FixedWeights(weights)], bars, rules, mode, chunk).execution


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_decision_at_t_fills_at_next_open_with_slippage_and_commission(mode):
    bars = make_bars(opens=[100, 110, 120, 130], closes=[105, 115, 125, 135])
    result = run(bars, [[0.0], [0.5], [0.5], [0.0]], mode=mode)
    buy = result.fills.iloc[0]
    # decided at bar 1's close, filled at bar 2's open (120), never at bar 1's close (115)
    assert buy.timestamp == bars.index()[2] and buy.decided_at == bars.index()[1]
    assert buy.side == "buy" and buy.price == pytest.approx(120 * 1.0005)
    equity_at_open = 10_000.0
    assert buy["size"] == pytest.approx(0.5 * equity_at_open / 120)
    assert buy.fees == pytest.approx(buy["size"] * buy.price * 0.001)
    assert buy.slippage_cost == pytest.approx(buy["size"] * 120 * 0.0005)
    # bar 3 decides 0: the order would fill at bar 4, which does not exist, so nothing more happens
    assert len(result.fills) == 1
    expected_cash = 10_000 - buy["size"] * buy.price - buy.fees
    assert result.cash[-1] == pytest.approx(expected_cash)
    assert result.equity[-1] == pytest.approx(expected_cash + buy["size"] * 135)  # marked at the close
    assert result.gross_equity[-1] == pytest.approx(result.equity[-1] + buy.fees + buy.slippage_cost)


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_sell_fills_below_the_open_and_unchanged_targets_do_not_trade(mode):
    bars = make_bars(opens=[100, 100, 100, 100, 90, 90], closes=[100, 100, 100, 95, 90, 90])
    result = run(bars, [[1.0], [1.0], [1.0], [0.0], [0.0], [0.0]], mode=mode)
    assert list(result.fills.side) == ["buy", "sell"]
    sell = result.fills.iloc[1]
    assert sell.timestamp == bars.index()[4] and sell.price == pytest.approx(90 * (1 - 0.0005))
    assert sell["size"] == pytest.approx(result.fills.iloc[0]["size"])


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_a_full_weight_buy_shrinks_to_what_cash_covers_including_costs(mode):
    bars = make_bars(opens=[100, 100, 100], closes=[100, 100, 100])
    result = run(bars, [[1.0], [1.0], [1.0]], mode=mode)
    buy = result.fills.iloc[0]
    assert buy["size"] * buy.price + buy.fees == pytest.approx(10_000.0)
    assert result.cash.min() >= -1e-9


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_whole_shares_round_down(mode):
    rules = ExecutionRules(commission=0.0, slippage=0.0, initial_cash=1_000.0, fractional_shares=False)
    bars = make_bars(opens=[30, 30, 30], closes=[30, 30, 30])
    result = run(bars, [[0.5], [0.5], [0.5]], rules=rules, mode=mode)
    assert result.fills.iloc[0]["size"] == 16  # 500 / 30 = 16.67 -> 16 shares


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_short_only_when_allowed(mode):
    bars = make_bars(opens=[50, 50, 40, 40], closes=[50, 50, 40, 40])
    weights = [[-0.5], [-0.5], [-0.5], [-0.5]]
    long_only = run(bars, weights, rules=RULES, mode=mode)
    assert long_only.fills.empty
    shorting = ExecutionRules(commission=0.0, slippage=0.0, initial_cash=10_000.0, allow_short=True)
    result = run(bars, weights, rules=shorting, mode=mode)
    assert result.positions[-1, 0] == pytest.approx(-100)  # -0.5 x 10,000 / 50
    assert result.equity[-1] == pytest.approx(10_000 + 100 * 10)  # price fell 50 -> 40


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_sells_execute_before_buys_so_sales_fund_purchases(mode):
    rules = ExecutionRules(commission=0.0, slippage=0.0, initial_cash=10_000.0)
    bars = make_bars(opens=[[10, 10]] * 4, closes=[[10, 10]] * 4)
    result = run(bars, [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], rules=rules, mode=mode)
    second_bar = result.fills[result.fills.timestamp == bars.index()[2]]
    assert list(second_bar.side) == ["sell", "buy"]
    assert result.positions[-1].tolist() == pytest.approx([0.0, 1000.0])


def test_no_cash_is_created_or_lost_by_the_ledger():
    bars = make_bars(opens=np.linspace(100, 150, 30), closes=np.linspace(101, 151, 30))
    weights = np.tile([[0.3], [0.9], [0.0]], (10, 1))
    result = run(bars, weights)
    fills = result.fills
    signed = np.where(fills.side == "buy", -1, 1) * fills["size"] * fills.price - fills.fees
    assert result.cash[-1] == pytest.approx(10_000 + signed.sum())


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_minimum_commission_per_order(mode):
    rules = ExecutionRules(commission=0.001, slippage=0.0, initial_cash=10_000.0, min_commission=5.0)
    bars = make_bars(opens=[100, 100, 100, 100, 100], closes=[100, 100, 100, 100, 100])
    # 10% of 10,000 = 1,000 notional: 1.00 at the rate, so the minimum applies; 90% more: 9.00 at the rate.
    result = run(bars, [[0.1], [1.0], [1.0], [1.0], [1.0]], rules=rules, mode=mode)
    small, large = result.fills.iloc[0], result.fills.iloc[1]
    assert small.fees == pytest.approx(5.0)
    assert large.fees == pytest.approx(large["size"] * large.price * 0.001)
    assert large.fees > 5.0
    assert result.cash[-1] >= -1e-9


# Two symbols entering on one bar: 60% of 10,000 at 100 (60 shares) and 40% at 40 (100 shares). With
# costs the two cost more than the cash, so both shrink by one factor.
COMPETING_OPENS = [[100, 40]] * 3
COMPETING_WEIGHTS = [[0.6, 0.4]] * 3
INTENDED_SHARES = np.array([60.0, 100.0])


def bought(result):
    """Shares bought per column, in column order."""
    buys = result.fills[result.fills.side == "buy"]
    return buys.set_index("symbol")["size"].reindex(list(result.bars.symbols)).to_numpy()


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
@pytest.mark.parametrize("min_commission", [0.0, 5.0])
def test_competing_buys_short_of_cash_shrink_by_one_factor_costs_included(mode, min_commission):
    rules = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=10_000.0, min_commission=min_commission)
    bars = make_bars(opens=COMPETING_OPENS, closes=COMPETING_OPENS)
    result = run(bars, COMPETING_WEIGHTS, rules=rules, mode=mode)
    notionals = INTENDED_SHARES * np.array([100, 40]) * 1.0005  # 6,003 and 4,002 with slippage
    if min_commission:  # 4,002 x 0.1% = 4.00 is below the minimum: the 40% buy pays 5.00 fixed, unscaled
        scale = (10_000 - 5.0) / (notionals[0] * 1.001 + notionals[1])
    else:
        scale = 10_000 / (notionals.sum() * 1.001)
    np.testing.assert_allclose(bought(result), scale * INTENDED_SHARES, rtol=1e-12)
    fills = result.fills
    expected_fees = fills["size"] * fills.price * 0.001
    if min_commission:
        expected_fees[fills.symbol == "S1"] = 5.0
    np.testing.assert_allclose(fills.fees, expected_fees, rtol=1e-12)
    assert (fills["size"] * fills.price + fills.fees).sum() == pytest.approx(10_000.0, rel=1e-12)
    assert result.cash[-1] == pytest.approx(0.0, abs=1e-8)
    assert result.cash.min() >= -1e-9  # the ledger re-adds the fills: rounding, not borrowing


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_competing_buys_in_whole_shares_round_down_after_shrinking(mode):
    rules = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=10_000.0, fractional_shares=False)
    bars = make_bars(opens=COMPETING_OPENS, closes=COMPETING_OPENS)
    result = run(bars, COMPETING_WEIGHTS, rules=rules, mode=mode)
    scale = 10_000 / (10_000 * 1.0005 * 1.001)  # 0.9985: 59.91 and 99.85 shares
    assert bought(result).tolist() == [59.0, 99.0]
    assert np.floor(scale * INTENDED_SHARES).tolist() == [59.0, 99.0]
    assert result.cash[-1] > 0.0  # what rounding down left over


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_competing_buys_that_cash_covers_fill_whole(mode):
    bars = make_bars(opens=COMPETING_OPENS, closes=COMPETING_OPENS)
    result = run(bars, [[0.5, 0.4]] * 3, mode=mode)
    np.testing.assert_allclose(bought(result), [50.0, 100.0], rtol=1e-12)


CLOSE_SIZED = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=10_000.0, size_at="close")


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_sized_at_the_close_the_shares_are_fixed_when_decided_and_trade_at_the_next_open(mode):
    bars = make_bars(opens=[100, 100, 110, 120], closes=[100, 100, 125, 130])
    result = run(bars, [[0.0], [0.5], [0.5], [0.5]], rules=CLOSE_SIZED, mode=mode)
    buy = result.fills.iloc[0]
    # decided at bar 1's close (100): 50 shares, whatever bar 2 opens at (110)
    assert buy.timestamp == bars.index()[2] and buy["size"] == pytest.approx(50.0, rel=1e-12)
    assert buy.price == pytest.approx(110 * 1.0005)
    assert len(result.fills) == 1  # a held target is not re-balanced


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
def test_sized_at_the_close_a_full_weight_spends_the_cash_at_that_close_and_shrinks_at_a_higher_open(mode):
    bars = make_bars(opens=[100, 100, 100, 101], closes=[100, 100, 100, 101])
    result = run(bars, [[0.0], [1.0], [1.0], [1.0]], rules=CLOSE_SIZED, mode=mode)
    buy = result.fills.iloc[0]
    assert buy["size"] * buy.price + buy.fees == pytest.approx(10_000.0, rel=1e-12)  # at an open equal to the close
    gapped = run(
        make_bars(opens=[100, 100, 104, 104], closes=[100, 100, 104, 104]),
        [[0.0], [1.0], [1.0], [1.0]],
        rules=CLOSE_SIZED,
        mode=mode,
    )
    assert gapped.fills.iloc[0]["size"] < buy["size"]  # a gap up: the buy shrinks to the cash, never borrows
    assert gapped.cash.min() >= -1e-9


@pytest.mark.parametrize("chunk", [1, 2, None])
def test_sized_at_the_close_both_paths_and_every_chunk_size_fill_alike(chunk):
    rng = np.random.default_rng(7)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 3)), axis=0))
    opens = prices * np.exp(rng.normal(0, 0.01, prices.shape))
    weights = np.round(rng.uniform(0, 0.5, (60, 3)), 1)
    bars = make_bars(opens=opens, closes=prices)
    vectorized = run(bars, weights, rules=CLOSE_SIZED, mode="vectorized")
    replayed = run(bars, weights, rules=CLOSE_SIZED, mode="replay", chunk=chunk)
    assert len(vectorized.fills) > 40
    np.testing.assert_allclose(replayed.equity, vectorized.equity, rtol=1e-12)
    np.testing.assert_allclose(replayed.fills["size"], vectorized.fills["size"], rtol=1e-12)
    assert not np.allclose(run(bars, weights, mode="vectorized").equity, vectorized.equity, rtol=1e-9)  # the sizing matters
