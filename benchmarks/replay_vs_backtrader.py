"""Event-driven replay (chunk size 1) of sma_cross over the synthetic universe, against backtrader
running the same SMA cross (same data, windows, costs, next-open fills) in the same run."""

from __future__ import annotations

import time

import backtrader as bt

from benchmarks.common import best_time, synthetic_sma_cross, workspace
from engine.usecases.backtest import load_bars, simulate_strategy

GOAL_SPEEDUP = 50.0


class SmaCrossBt(bt.Strategy):
    params = (("fast", 50), ("slow", 200))

    def __init__(self):
        self.signals = [
            bt.indicators.SMA(data.close, period=self.p.fast) > bt.indicators.SMA(data.close, period=self.p.slow)
            for data in self.datas
        ]

    def next(self):
        weight = 1.0 / len(self.datas)
        for data, signal in zip(self.datas, self.signals, strict=True):
            target = weight if signal[0] else 0.0
            if self.getposition(data).size == 0 and target > 0 or self.getposition(data).size > 0 and target == 0:
                self.order_target_percent(data, target=target)


def run_backtrader(bars, fast: int, slow: int, commission: float, slippage: float) -> float:
    cerebro = bt.Cerebro(stdstats=False)
    for symbol in bars.symbols:
        cerebro.adddata(bt.feeds.PandasData(dataname=_frame(bars, symbol)), name=symbol)
    cerebro.addstrategy(SmaCrossBt, fast=fast, slow=slow)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=commission)
    cerebro.broker.set_slippage_perc(slippage)
    cerebro.run()
    return cerebro.broker.getvalue()


def _frame(bars, symbol):
    column = bars.symbols.index(symbol)
    frame = bars.frame("close")[[symbol]].rename(columns={symbol: "close"})
    for field in ("open", "high", "low", "volume"):
        frame[field] = getattr(bars, field)[:, column]
    frame.index = frame.index.tz_localize(None)
    return frame


def measure() -> dict:
    strategy = synthetic_sma_cross()
    bars = load_bars(strategy, workspace().data)
    ours = best_time(lambda: simulate_strategy(strategy, bars, 1, "sim"), repeats=3)
    start = time.perf_counter()
    run_backtrader(bars, strategy.signal.fast, strategy.signal.slow, strategy.costs.commission, strategy.costs.slippage)
    peer = time.perf_counter() - start
    symbol_bars = bars.shape[0] * bars.shape[1]
    return {
        "data": f"synthetic universe, {bars.shape[1]} symbols x {bars.shape[0]} hourly bars",
        "symbol_bars": symbol_bars,
        "ours_replay_chunk_1_seconds": ours,
        "ours_bars_per_second": symbol_bars / ours,
        "backtrader_seconds": peer,
        "backtrader_bars_per_second": symbol_bars / peer,
        "speedup_over_backtrader": peer / ours,
        "goal_speedup_at_least": GOAL_SPEEDUP,
        "meets_goal": peer / ours >= GOAL_SPEEDUP,
    }
