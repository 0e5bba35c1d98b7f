"""The risk gate in a backtest: a kill switch trips on the bar it should and the result says so; caps cut
targets; the limits come from the strategy's `[risk]` table or `--kill-switch`; bad limits are one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.kernel.bus import EventBus
from engine.kernel.risk import RiskGate
from engine.strategies.files import load_strategy
from engine.strategies.schema import RiskSpec
from engine.usecases.backtest import run_backtest

DAILY_LOSS = 0.01


def first_daily_loss(execution, limit: float) -> int:
    """The first bar whose close is more than `limit` below the day's opening equity (the last close
    of the previous New York day, the initial cash on the first), computed from an ungated run."""
    days = pd.DatetimeIndex(execution.bars.index()).tz_convert("America/New_York").date
    opening = execution.initial_cash
    for row, equity in enumerate(execution.equity):
        if row and days[row] != days[row - 1]:
            opening = execution.equity[row - 1]
        if 1.0 - equity / opening > limit:
            return row
    raise AssertionError("the ungated run never loses that much in a day")


def test_a_daily_loss_trips_on_the_bar_it_should_and_nothing_is_decided_after(workspace):
    strategy = load_strategy("sma_cross")
    free = run_backtest(strategy, workspace).execution
    gated = run_backtest(strategy.with_overrides(risk={"daily_loss": DAILY_LOSS}), workspace)
    trip = first_daily_loss(free, DAILY_LOSS)
    risk = gated.risk()
    assert risk["halted"]["timestamp"] == str(free.bars.index()[trip]) and risk["halted"]["limit"] == "daily_loss"
    assert risk["halted"]["reason"].endswith("beyond the daily_loss limit of 1.00%")
    assert gated.broker == "sim"  # the vectorized simulation cannot stop at each close to ask the gate
    execution = gated.execution
    np.testing.assert_allclose(execution.equity[: trip + 1], free.equity[: trip + 1], rtol=1e-12)
    assert (execution.fills.decided_at < free.bars.index()[trip]).all()
    refused = [event for event in risk["events"] if event["action"] == "refused"]
    assert refused and risk["refused_orders"] == sum(len(event["targets"]) for event in refused)
    held = execution.positions[trip]  # what it held at the halt, it holds to the end
    np.testing.assert_allclose(execution.positions[trip:], np.tile(held, (len(execution.positions) - trip, 1)))


def test_the_gate_acts_alike_at_every_chunk_size_and_in_the_replay(workspace):
    strategy = load_strategy("sma_cross").with_overrides(risk={"daily_loss": DAILY_LOSS, "position_cap": 0.4})
    whole = run_backtest(strategy, workspace)
    for chunk_size, broker in ((None, "sim"), (7, "sim"), (1, "sim"), (None, "vectorized")):
        other = run_backtest(strategy, workspace, chunk_size, broker)
        assert other.risk() == whole.risk()
        np.testing.assert_allclose(other.execution.equity, whole.execution.equity, rtol=1e-9)


def test_a_position_cap_and_a_gross_exposure_cap_cut_the_targets(workspace):
    strategy = load_strategy("sma_cross").with_overrides(data={"start": "2010-01-01"})
    free = run_backtest(strategy, workspace)
    assert free.execution.fills.target_weight.max() == pytest.approx(0.5)  # equal weight on two symbols
    capped = run_backtest(strategy.with_overrides(risk={"position_cap": 0.3}), workspace)
    fills = capped.execution.fills
    assert fills.target_weight.max() == pytest.approx(0.3) and len(fills) == len(free.execution.fills)
    risk = capped.risk()
    assert risk["halted"] is None and risk["capped_orders"] > 0
    assert {event["limit"] for event in risk["events"]} == {"position_cap"}
    gross = run_backtest(strategy.with_overrides(risk={"gross_exposure": 0.6}), workspace).execution
    index, exposures = gross.bars.index(), []
    for decided_at, orders in gross.fills.groupby("decided_at"):  # at each decision: what it holds and orders
        row = index.get_loc(decided_at)
        value = dict(zip(gross.bars.symbols, np.abs(gross.positions[row] * gross.bars.close[row]), strict=True))
        ordered = dict(zip(orders.symbol, orders.target_weight.abs(), strict=True))
        exposures.append(sum(ordered.get(symbol, held / gross.equity[row]) for symbol, held in value.items()))
    assert max(exposures) == pytest.approx(0.6)
    assert free.execution.equity[-1] != pytest.approx(gross.equity[-1])


def test_engine_backtest_kill_switch_is_stored_printed_and_replaces_the_strategys_risk(cli, sample_home, tmp_path):
    path = tmp_path / "sma_risk.toml"
    strategy = load_strategy("sma_cross")
    path.write_text(
        'name = "sma_risk"\n[data]\nsymbols = ["SP500", "NASDAQ"]\ntimeframe = "1d"\n'
        f'[signal]\nkind = "sma_cross"\nfast = {strategy.signal.fast}\nslow = {strategy.signal.slow}\n'
        "[risk]\ndaily_loss = 0.5\nposition_cap = 0.3\n"
    )
    result = cli("backtest", "--strategy", str(path), "--kill-switch", f"daily_loss={DAILY_LOSS}", "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout.splitlines()[-1])
    assert reply["risk"]["limits"] == {"daily_loss": DAILY_LOSS, "difference": 0.01, "position_cap": 0.3}
    assert reply["risk"]["halted"]["limit"] == "daily_loss"
    stored = json.loads((sample_home / "runs" / reply["run_id"] / "risk.json").read_text())
    assert stored == reply["risk"]
    config = json.loads((sample_home / "runs" / reply["run_id"] / "config.json").read_text())
    assert config["strategy"]["risk"]["daily_loss"] == DAILY_LOSS and config["execution"] == "sim"
    table = cli("backtest", "--strategy", str(path), "--kill-switch", f"daily_loss={DAILY_LOSS}")
    [line] = [line for line in table.stdout.splitlines() if line.startswith("risk gate: ")]
    assert line.startswith(f"risk gate: halted at {reply['risk']['halted']['timestamp']} (equity fell ")
    assert "orders refused" in line and "targets cut to the caps" in line
    shown = cli("runs", "show", reply["run_id"]).stdout.splitlines()
    assert line in shown  # `runs show` tells it as the backtest did
    report = (sample_home / "runs" / reply["run_id"] / "report" / "report.md").read_text()
    assert line in report and "| daily_loss | halted |" in report and "| position_cap | capped |" in report


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("daily_loss=2%", "--kill-switch 'daily_loss=2%': daily_loss needs a positive number, not '2%'"),
        ("max_loss=1", "unknown limit 'max_loss'"),
        ("daily_loss=0.1,daily_loss=0.2", "daily_loss is given twice"),
        ("daily_loss=2", "risk.daily_loss: Input should be less than 1"),
    ],
)
def test_a_bad_kill_switch_is_one_line(cli, spec, problem):
    result = cli("backtest", "--strategy", "sma_cross", "--kill-switch", spec)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and problem in errors[0], result.stderr


def test_the_gross_cap_counts_what_is_held_and_never_cuts_an_exit():
    gate = RiskGate(RiskSpec(gross_exposure=0.6), 1000.0)
    gate.attach(EventBus(), ("A", "B"))
    closes, stamp = np.array([10.0, 10.0]), np.datetime64("2024-01-02T15:00", "ns")
    held = np.array([50.0, 0.0])  # A is half the equity
    np.testing.assert_allclose(gate.at_close(stamp, np.array([np.nan, 0.5]), closes, 500.0, held), [np.nan, 0.1])
    exit_only = gate.at_close(stamp, np.array([0.0, np.nan]), closes, 200.0, np.array([80.0, 0.0]))  # A is 80%
    np.testing.assert_array_equal(exit_only, [0.0, np.nan])
