"""The chunk-invariance (lookahead) check behind `engine check`.

The same pipeline runs over the same bars with the whole history as one chunk and at smaller
chunk sizes. A causal stage gives identical output; a stage that peeks ahead inside a chunk
cannot peek at chunk size 1, so its output moves and it is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.feeds.historical import HistoricalFeed
from engine.kernel.bars import Bars
from engine.kernel.node import Mode, build_node
from engine.kernel.pipeline import PipelineRun, run_feed
from engine.kernel.stage import Stage

if TYPE_CHECKING:
    from engine.usecases.backtest import PreparedStrategy

# Fills and equity may differ by the order of a floating-point reduction, never by more.
RELATIVE_TOLERANCE = 1e-9
DEFAULT_CHUNK_SIZES = (1, 7)


@dataclass(frozen=True)
class Difference:
    """How one output at one chunk size differs from the whole-history run."""

    output: str
    chunk_size: int
    max_difference: float
    first_timestamp: str | None
    first_symbol: str | None

    @property
    def moved(self) -> bool:
        return self.first_timestamp is not None


@dataclass(frozen=True)
class CheckReport:
    differences: list[Difference]

    @property
    def passed(self) -> bool:
        return not any(difference.moved for difference in self.differences)

    @property
    def moving_stages(self) -> list[str]:
        """Stages whose output moves, in pipeline order; the first is where the lookahead is."""
        names = []
        for difference in self.differences:
            if difference.moved and difference.output.startswith("stage ") and difference.output not in names:
                names.append(difference.output)
        return names


def _compare(
    name: str, chunk_size: int, reference: np.ndarray, candidate: np.ndarray, bars: Bars, rtol: float, atol: float = 0.0
) -> Difference:
    reference, candidate = np.atleast_2d(reference.T).T, np.atleast_2d(candidate.T).T
    if reference.shape != candidate.shape:
        return Difference(name, chunk_size, float("inf"), str(bars.index()[0]), None)
    gap = np.abs(candidate - reference)
    allowed = atol + rtol * np.abs(reference)
    bad = ~((gap <= allowed) | (np.isnan(candidate) & np.isnan(reference)))
    if not bad.any():
        return Difference(name, chunk_size, float(np.nanmax(gap, initial=0.0)), None, None)
    row, column = np.argwhere(bad)[0]
    symbol = bars.symbols[column] if reference.shape[1] == len(bars.symbols) else None
    return Difference(name, chunk_size, float(np.nanmax(gap)), str(bars.index()[row]), symbol)


def check_chunk_invariance(
    prepared: PreparedStrategy,
    chunk_sizes: tuple[int, ...] = DEFAULT_CHUNK_SIZES,
    on_chunk: Callable[[int], None] | None = None,
    make_stages: Callable[[], list[Stage]] | None = None,
) -> CheckReport:
    """Run the strategy's node with the event-driven sim broker at each chunk size, trading from the
    first bar, and compare every stage, the fills and the equity. `make_stages`: other stages than
    the strategy's (a test's)."""
    bars = prepared.bars
    make_stages = make_stages or prepared.stages

    def run(chunk_size: int | None) -> PipelineRun:
        node = build_node(prepared, Mode(broker="sim", trade_from=bars.timestamps[0], stages=make_stages()))
        return run_feed(node, HistoricalFeed(bars, chunk_size), on_chunk)

    reference = run(None)
    # Rule-based stages must match exactly; a stage may declare an absolute `tolerance` (a neural
    # network's kernels round differently by batch size, and its features by where a window starts).
    tolerances = [getattr(stage, "tolerance", 0.0) for stage in make_stages()]
    names = [f"stage {topic.split(':', 1)[1]}" for topic in reference.stage_outputs]
    differences = []
    for chunk_size in chunk_sizes:
        candidate = run(chunk_size)
        for (topic, weights), name, tolerance in zip(reference.stage_outputs.items(), names, tolerances, strict=True):
            differences.append(_compare(name, chunk_size, weights, candidate.stage_outputs[topic], bars, 0.0, tolerance))
        positions_ref, positions = reference.execution.positions, candidate.execution.positions
        differences.append(_compare("positions (fills)", chunk_size, positions_ref, positions, bars, RELATIVE_TOLERANCE))
        differences.append(
            _compare("equity", chunk_size, reference.execution.equity, candidate.execution.equity, bars, RELATIVE_TOLERANCE)
        )
    return CheckReport(differences)
