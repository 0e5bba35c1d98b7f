"""Hand-made bar panels and stages for tests."""

from __future__ import annotations

import socket

import numpy as np
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_fixed

from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules
from engine.execution.vectorized import VectorizedBroker
from engine.feeds.historical import HistoricalFeed
from engine.kernel.bars import Bars
from engine.kernel.pipeline import Pipeline, PipelineRun, run_feed

BROKERS = {"replay": SimBroker, "vectorized": VectorizedBroker}


def run_stages(stages, bars: Bars, rules: ExecutionRules, mode: str = "replay", chunk: int | None = None) -> PipelineRun:
    """The stages over `bars` through the sim broker ("replay") or the vectorized one, fed `chunk` bars at a time."""
    pipeline = Pipeline(stages, BROKERS[mode](rules), bars.symbols, rules.initial_cash)
    return run_feed(pipeline, HistoricalFeed(bars, chunk))


def wait_for(condition, timeout: float = 120.0):
    """Poll `condition` (with tenacity, as the engine retries) until it gives something true, and
    return that; fail after `timeout` seconds, generous because the suite shares a loaded machine."""
    polling = Retrying(
        retry=retry_if_result(lambda value: not value),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.05),
        retry_error_callback=_timed_out,
    )
    return polling(condition)


def _timed_out(state: RetryCallState):
    raise AssertionError(f"timed out after {state.seconds_since_start:.1f} s waiting for the condition")


def imported_modules(stderr: str) -> set[str]:
    """The modules a `python -X importtime` process imported, from its stderr."""
    return {line.rpartition("|")[2].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def make_bars(opens, closes, symbols=None, start="2024-01-01") -> Bars:
    """Bars from open and close rows (one column per symbol); high/low just wrap them."""
    opens = np.asarray(opens, dtype=float).reshape(len(opens), -1)
    closes = np.asarray(closes, dtype=float).reshape(len(closes), -1)
    symbols = symbols or tuple(f"S{i}" for i in range(opens.shape[1]))
    timestamps = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + len(opens)).astype("datetime64[ns]")
    return Bars(
        timestamps,
        tuple(symbols),
        opens,
        np.maximum(opens, closes) * 1.01,
        np.minimum(opens, closes) * 0.99,
        closes,
        np.full(opens.shape, 1000.0),
    )


class FixedWeights:
    """A signal that replays a fixed weight matrix, whatever the chunking."""

    name = "fixed"

    def __init__(self, weights) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self._row = 0

    def on_chunk(self, bars, weights=None, signal=None):
        out = self.weights[self._row : self._row + len(bars)]
        self._row += len(bars)
        return out.reshape(len(bars), -1)


class PeekAhead:
    """A planted lookahead: long when the NEXT bar's close (inside the chunk) is higher."""

    name = "peek_ahead"

    def on_chunk(self, bars, weights=None, signal=None):
        nxt = np.vstack([bars.close[1:], bars.close[-1:]])
        return (nxt > bars.close) / len(bars.symbols)


def free_port() -> int:
    """A loopback TCP port where nothing listens now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
