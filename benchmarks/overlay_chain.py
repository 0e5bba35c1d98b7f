"""Overlay chain throughput over the synthetic universe: every built-in rule overlay (GARCH
included) behind an sma_cross signal, at chunk size 1 and the whole history, beside the signal
alone in the same run. GARCH fits are memoized, so repeated runs time the chain without them;
`cold_whole_history_seconds` is a first run, fits included."""

from __future__ import annotations

import time

from benchmarks.common import best_time, synthetic_sma_cross, workspace
from engine.overlays.regime import fit_garch
from engine.strategies.schema import parse_strategy
from engine.usecases.backtest import PreparedStrategy, load_bars

CHAIN = [
    {"kind": "trend", "window": 100, "scale": 0.5},
    {"kind": "volatility_regime", "window": 20, "lookback": 252, "garch": True, "refit_every": 250, "scale": 0.5},
    {"kind": "market_filter", "symbol": "SYN00", "window": 150, "scale": 0.5},
    {"kind": "holding", "min_holding_bars": 5, "cooldown_bars": 3},
    {"kind": "stops", "stop_loss": 0.05, "take_profit": 0.2, "trailing_stop": 0.08},
    {"kind": "volatility_target", "target": 0.12, "window": 20},
    {"kind": "exposure_caps", "per_symbol": 0.1, "gross": 1.0},
    {"kind": "drawdown_breaker", "max_drawdown": 0.1, "cooldown_bars": 15},
    {"kind": "cost_filter", "band": 0.01},
]


def _run_stages(stages, bars, chunk_size):
    for chunk in bars.chunks(chunk_size):
        weights = signal = None
        for stage in stages:
            weights = stage.on_chunk(chunk, weights, signal)
            signal = weights if signal is None else signal


def measure() -> dict:
    base = synthetic_sma_cross().with_overrides(signal={"fast": 10, "slow": 40})
    strategy = parse_strategy({**base.model_dump(), "overlays": CHAIN}, "benchmark chain")
    bars = load_bars(strategy, workspace().data)
    prepared = PreparedStrategy.over(strategy, bars)
    symbol_bars = bars.shape[0] * bars.shape[1]
    figures = {"data": f"synthetic universe, {bars.shape[1]} symbols x {bars.shape[0]} hourly bars", "overlays": len(CHAIN)}
    fit_garch.cache_clear()
    start = time.perf_counter()
    _run_stages(prepared.stages(), bars, None)
    figures["cold_whole_history_seconds"] = time.perf_counter() - start
    for label, chunk in (("whole_history", None), ("chunk_1", 1)):
        chain = best_time(lambda chunk=chunk: _run_stages(prepared.stages(), bars, chunk), repeats=2)
        signal = best_time(lambda chunk=chunk: _run_stages([prepared.signal_stage()], bars, chunk), repeats=2)
        overlays_only = max(chain - signal, 1e-9)
        figures[label] = {
            "signal_and_chain_seconds": chain,
            "signal_alone_seconds": signal,
            "overlay_chain_bars_per_second": symbol_bars / overlays_only,
        }
    return figures
