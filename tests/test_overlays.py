"""Each overlay on hand-made price paths where the right answer is known, through the real pipeline."""

from __future__ import annotations

from dataclasses import replace

import arch.univariate
import numpy as np
import pytest

from engine.execution.conventions import ExecutionRules
from engine.overlays.base import OverlayContext, validate_overlay
from engine.overlays.cost_filter import COST_FILTER
from engine.overlays.memo import StageMemo
from engine.overlays.regime import MARKET_FILTER, TREND, VOLATILITY_REGIME, fit_garch
from engine.overlays.risk import DRAWDOWN_BREAKER, EXPOSURE_CAPS, HOLDING, STOPS, VOLATILITY_TARGET
from engine.overlays.threshold import THRESHOLD
from tests.helpers import FixedWeights, make_bars, run_stages

RULES = ExecutionRules(commission=0.0, slippage=0.0, initial_cash=10_000.0)


def context(symbols=("S0",), probability=False, allow_short=False):
    return OverlayContext(tuple(symbols), 252.0, 0.001, 0.0005, allow_short, probability)


def overlay(kind, symbols=("S0",), probability=False, **params):
    ctx = context(symbols, probability)
    config = validate_overlay(kind, params, "overlays[0]", ctx)
    return kind.build(config, ctx)


def run(bars, upstream, stage, mode="replay", chunk=None):
    return run_stages([FixedWeights(upstream), stage], bars, RULES, mode, chunk)


def final(result):
    return list(result.stage_outputs.values())[-1]


def test_threshold_hysteresis_holds_between_exit_and_entry():
    scores = np.array([0.5, 0.65, 0.55, 0.52, 0.45, 0.55, 0.61, 0.59])[:, None]
    bars = make_bars(opens=np.full(8, 100.0), closes=np.full(8, 100.0))
    weights = final(run(bars, scores, overlay(THRESHOLD, entry=0.6, exit=0.5)))
    #                  0.5  0.65 0.55 0.52 0.45 0.55 0.61 0.59
    assert weights[:, 0].tolist() == [0, 1, 1, 1, 0, 0, 1, 1]


def test_threshold_per_symbol():
    scores = np.array([[0.56, 0.56], [0.62, 0.62]])
    bars = make_bars(opens=[[1, 1], [1, 1]], closes=[[1, 1], [1, 1]], symbols=("A", "B"))
    stage = overlay(THRESHOLD, symbols=("A", "B"), entry={"A": 0.55, "B": 0.6}, exit={"A": 0.5, "B": 0.5})
    assert final(run(bars, scores, stage)).tolist() == [[0.5, 0.0], [0.5, 0.5]]


def test_stop_loss_triggers_on_the_right_bar_and_fills_at_the_next_open():
    closes = [100, 100, 99, 96, 94, 95, 96, 97]
    opens = [100, 100, 99.5, 98, 95, 94.5, 96, 97]
    bars = make_bars(opens=opens, closes=closes)
    upstream = np.ones((8, 1))
    for mode in ("replay", "vectorized"):
        result = run(bars, upstream, overlay(STOPS, stop_loss=0.05, cooldown_bars=2), mode)
        # Entered at bar 1's open (100). Bar 3 closes -4%: nothing. Bar 4 closes -6%: exit decided there.
        assert final(result)[:, 0].tolist() == [1, 1, 1, 1, 0, 0, 0, 1]
        fills = result.execution.fills
        assert list(fills.side) == ["buy", "sell"]  # the re-entry decided on the last bar has no next open
        assert fills.timestamp.iloc[1] == bars.index()[5] and fills.price.iloc[1] == pytest.approx(94.5)


def test_take_profit_and_trailing_stop():
    bars = make_bars(opens=[100, 100, 105, 112, 116, 120, 114], closes=[100, 104, 110, 118, 121, 115, 112])
    upstream = np.ones((7, 1))
    take = final(run(bars, upstream, overlay(STOPS, take_profit=0.15, cooldown_bars=10)))
    assert take[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 0]  # entry 100 at bar 1's open; bar 3 closes +18%
    trail = final(run(bars, upstream, overlay(STOPS, trailing_stop=0.04, cooldown_bars=10)))
    assert trail[:, 0].tolist() == [1, 1, 1, 1, 1, 0, 0]  # peak close 121 at bar 4; bar 5 closes 115 (-5%)


def test_drawdown_breaker_halts_at_the_limit_and_resumes_after_the_cool_down():
    closes = [100, 100, 95, 90, 84, 80, 82, 84, 86, 88, 90]
    bars = make_bars(opens=closes, closes=closes)
    upstream = np.ones((11, 1))
    weights = final(run(bars, upstream, overlay(DRAWDOWN_BREAKER, max_drawdown=0.15, cooldown_bars=3)))
    # Shadow entry at bar 1's open (100); bar 4 closes 84, -16% from the peak: flat from bar 4 and for
    # the 3 bars of cool-down after it, back in at bar 8.
    assert weights[:, 0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]


def test_holding_period_and_cool_down_after_exit():
    upstream = np.array([1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1])[:, None].astype(float)
    bars = make_bars(opens=np.full(11, 10.0), closes=np.full(11, 10.0))
    weights = final(run(bars, upstream, overlay(HOLDING, min_holding_bars=3, cooldown_bars=2)))
    # Entered at 0, held through bar 2 (3 bars); out at 3; the 2-bar wait blocks 4 and 5; in again at 6,
    # and the exit asked for at 8 comes too early (held 2 bars), so it is ignored.
    assert weights[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]


def test_exposure_caps_and_volatility_target():
    bars = make_bars(opens=[[1, 1, 1]] * 2, closes=[[1, 1, 1]] * 2, symbols=("A", "B", "C"))
    upstream = np.array([[0.7, 0.2, 0.3], [0.3, 0.3, 0.3]])
    capped = final(run(bars, upstream, overlay(EXPOSURE_CAPS, ("A", "B", "C"), per_symbol=0.5, gross=0.8)))
    np.testing.assert_allclose(capped, [[0.4, 0.16, 0.24], [0.8 / 3] * 3])

    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 60)))
    bars = make_bars(opens=closes, closes=closes)
    scaled = final(run(bars, np.ones((60, 1)), overlay(VOLATILITY_TARGET, target=0.1, window=20, max_scale=1.0)))
    returns = np.diff(np.log(closes))
    expected = min(1.0, 0.1 / (returns[-20:].std(ddof=1) * np.sqrt(252)))
    assert scaled[-1, 0] == pytest.approx(expected)
    assert (scaled[:20, 0] == 0).all()  # no volatility estimate yet: no position


def test_trend_and_market_filter_scale_the_bad_regime():
    closes = [10, 10, 10, 10, 9, 8, 12, 13]
    bars = make_bars(opens=np.array([closes, closes]).T, closes=np.array([closes, closes]).T, symbols=("IDX", "B"))
    upstream = np.full((8, 2), 0.5)
    trend = final(run(bars, upstream, overlay(TREND, ("IDX", "B"), window=4, scale=0.0)))
    assert trend[:, 0].tolist() == [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5]
    market = final(run(bars, upstream, overlay(MARKET_FILTER, ("IDX", "B"), symbol="IDX", window=4, scale=0.5)))
    assert market[4].tolist() == [0.25, 0.25] and market[7].tolist() == [0.5, 0.5]


def test_volatility_regime_scales_high_volatility_and_garch_forecasts():
    rng = np.random.default_rng(1)
    calm, wild = rng.normal(0, 0.005, 700), rng.normal(0, 0.04, 40)
    closes = 100 * np.exp(np.cumsum(np.concatenate([calm, wild])))
    bars = make_bars(opens=closes, closes=closes)
    upstream = np.ones((740, 1))
    realized = final(run(bars, upstream, overlay(VOLATILITY_REGIME, window=10, lookback=100, max_percentile=0.9, scale=0.5)))
    # Rising volatility ranks at the top of its own history: calm bars are rarely scaled, the jump is.
    assert (realized[300:700, 0] == 0.5).mean() < 0.15 and (realized[701:710, 0] == 0.5).all()
    closes = 100 * np.exp(np.cumsum(np.concatenate([calm, rng.normal(0, 0.04, 200)])))
    bars = make_bars(opens=closes, closes=closes)
    garch = overlay(VOLATILITY_REGIME, window=10, lookback=100, max_percentile=1.0, garch=True, garch_window=500,
                    refit_every=50, max_garch_volatility=0.3, scale=0.0)  # fmt: skip
    forecast = final(run(bars, np.ones((900, 1)), garch))
    # Calm: ~8% a year, never flagged. Once a refit has seen the storm (~63% a year), it is flagged.
    assert (forecast[500:700, 0] == 1.0).all() and (forecast[750:, 0] == 0.0).mean() > 0.95


def test_garch_fits_kept_on_disk_are_reused_exactly_by_a_later_run(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    bars = make_bars(opens=closes, closes=closes)
    params = {"window": 10, "lookback": 50, "max_percentile": 1.0, "garch": True, "garch_window": 200, "refit_every": 40}

    def forecasts(cache_dir):
        ctx = replace(context(), cache_dir=cache_dir)
        stage = VOLATILITY_REGIME.build(validate_overlay(VOLATILITY_REGIME, params, "overlays[0]", ctx), ctx)
        return final(run(bars, np.ones((400, 1)), stage))

    fit_garch.cache_clear()
    in_memory = forecasts(None)
    fit_garch.cache_clear()
    assert np.array_equal(forecasts(tmp_path), in_memory)
    assert len(list(tmp_path.rglob("output.pkl"))) == 5  # refits at bars 200, 240, …, 360
    # A later process (an empty memory) reads every fit from disk and fits nothing.
    fit_garch.cache_clear()
    monkeypatch.setattr(arch.univariate, "ZeroMean", None)
    assert np.array_equal(forecasts(tmp_path), in_memory)
    fit_garch.cache_clear()


def test_cost_filter_band_and_expected_edge():
    bars = make_bars(opens=np.full(5, 10.0), closes=np.full(5, 10.0))
    upstream = np.array([0.5, 0.52, 0.3, 0.31, 0.0])[:, None]
    banded = final(run(bars, upstream, overlay(COST_FILTER, band=0.05)))
    assert banded[:, 0].tolist() == [0.5, 0.5, 0.3, 0.3, 0.0]

    rng = np.random.default_rng(2)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    bars = make_bars(opens=closes, closes=closes)
    probabilities = np.where(np.arange(300) < 150, 0.51, 0.9)[:, None]  # a weak, then a strong conviction
    stage = overlay(COST_FILTER, probability=True, min_edge_multiple=1.0, horizon=5, edge_window=50)
    threshold = THRESHOLD.build(THRESHOLD.config(entry=0.5, exit=0.5), context())
    weights = final(run_stages([FixedWeights(probabilities), threshold, stage], bars, RULES))
    assert (weights[60:150, 0] == 0).all() and (weights[150:, 0] == 1).all()


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        (THRESHOLD, {"entry": 0.4, "exit": 0.6}, r"overlays\[0\]: Value error, exit \(0.6\) must not be above entry \(0.4\)"),
        (THRESHOLD, {"entry": {"ZZZ": 0.6}}, r"overlays\[0\].entry: Value error, unknown symbol\(s\) ZZZ"),
        (TREND, {"window": -5}, r"overlays\[0\].window: Input should be greater than or equal to 2"),
        (EXPOSURE_CAPS, {"gross": 1.5}, r"overlays\[0\].gross: Value error, a cap of 1.5 borrows"),
        (STOPS, {}, r"set at least one of stop_loss, take_profit, trailing_stop"),
        (STOPS, {"stop_loss": 0.05, "stopp": 1}, r"overlays\[0\].stopp: Extra inputs are not permitted"),
        (MARKET_FILTER, {"symbol": "QQQ"}, r"overlays\[0\].symbol: Value error, benchmark 'QQQ' must be one of"),
        (COST_FILTER, {"min_edge_multiple": 1.0}, r"needs a model's probability"),
    ],
)
def test_bad_parameters_are_rejected_with_the_field_named(kind, params, message):
    with pytest.raises(ValueError, match=message):
        validate_overlay(kind, params, "overlays[0]", context())


@pytest.mark.parametrize("chunk", [1, 7])
def test_path_dependent_overlays_carry_state_across_chunks(chunk):
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, 400)))
    opens = closes * np.exp(rng.normal(0, 0.005, 400))
    bars = make_bars(opens=opens, closes=closes)
    upstream = (rng.uniform(size=(400, 1)) > 0.3).astype(float)
    for kind, params in [
        (STOPS, {"stop_loss": 0.03, "take_profit": 0.06, "trailing_stop": 0.04, "cooldown_bars": 3}),
        (DRAWDOWN_BREAKER, {"max_drawdown": 0.1, "cooldown_bars": 10}),
        (HOLDING, {"min_holding_bars": 4, "cooldown_bars": 3}),
        (COST_FILTER, {"band": 0.1}),
        (VOLATILITY_REGIME, {"window": 10, "lookback": 50, "garch": True, "garch_window": 200, "refit_every": 30}),
    ]:
        whole = run(bars, upstream, overlay(kind, **params), "replay")
        chunked = run(bars, upstream, overlay(kind, **params), "replay", chunk)
        vectorized = run(bars, upstream, overlay(kind, **params), "vectorized", chunk)
        np.testing.assert_array_equal(final(chunked), final(whole), err_msg=kind.name)
        np.testing.assert_allclose(chunked.execution.equity, vectorized.execution.equity, rtol=1e-9, err_msg=kind.name)


def test_a_stage_memo_gives_what_the_stages_compute_whatever_the_chunks_and_tuned_settings():
    """The overlays that derive windows from the bars (engine.overlays.memo), built with one memo
    shared by every run as an overlay-only study shares it: each run's targets are those of stages
    built without it, at chunk sizes 1, 7 and the whole history, while the settings the memo's keys
    leave out (scales, target, band) change from run to run; the later whole-history runs hit it."""
    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (360, 2)), axis=0))
    bars = make_bars(opens=closes * np.exp(rng.normal(0, 0.004, (360, 2))), closes=closes, symbols=("IDX", "B"))
    probabilities = rng.uniform(0.3, 0.8, (360, 2))
    symbols, memo = ("IDX", "B"), StageMemo()

    def chain(ctx, scale, target, band):
        settings = [
            (TREND, {"window": 30, "scale": scale}),
            (
                VOLATILITY_REGIME,
                {"window": 10, "lookback": 60, "garch": True, "garch_window": 150, "refit_every": 40, "scale": scale},
            ),
            (MARKET_FILTER, {"symbol": "IDX", "window": 25, "scale": scale}),
            (VOLATILITY_TARGET, {"target": target, "window": 15}),
            (COST_FILTER, {"band": band, "min_edge_multiple": 0.5, "horizon": 3, "edge_window": 40}),
        ]
        threshold = THRESHOLD.build(validate_overlay(THRESHOLD, {"entry": 0.55, "exit": 0.45}, "overlays[0]", ctx), ctx)
        stages = [kind.build(validate_overlay(kind, params, "overlays[i]", ctx), ctx) for kind, params in settings]
        return [FixedWeights(probabilities), threshold, *stages]

    plain = context(symbols, probability=True)
    for scale, target, band in [(0.0, 0.15, 0.0), (0.5, 0.1, 0.05), (0.25, 0.2, 0.02)]:
        for chunk in (1, 7, None):
            hits = memo.hits
            remembered = run_stages(chain(replace(plain, memo=memo), scale, target, band), bars, RULES, "replay", chunk)
            computed = run_stages(chain(plain, scale, target, band), bars, RULES, "replay", chunk)
            for topic, weights in computed.stage_outputs.items():
                np.testing.assert_array_equal(remembered.stage_outputs[topic], weights, err_msg=f"{topic} in chunks of {chunk}")
        assert scale == 0.0 or memo.hits - hits == 5  # the whole history: each overlay found what it derives
