"""Overlay ablation: the chain built up one category at a time, each step backtested on the
same bars and period, so a table shows what each layer buys and what it costs.

    raw -> +threshold -> +regime -> +risk -> +cost filter

"raw" is the signal alone; a score becomes a position where it is above its neutral value (a
model's probability above 0.5, a momentum return above 0). A
model's predictions are replayed, not recomputed, at every step.

An ensemble's table goes on with each member alone through the whole chain, then the ensemble
through it: a member's own probabilities (kept beside the ensemble's in the prediction cache,
from its folds as the ensemble trained them) replayed in the ensemble's place.
"""

from __future__ import annotations

from engine.analytics.metrics import compute_metrics
from engine.kernel.node import simulate
from engine.overlays.base import CATEGORIES
from engine.overlays.chain import build_chain
from engine.overlays.threshold import ThresholdConfig, ThresholdStage
from engine.signals.replayed import ReplayedProbabilities

COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades", "turnover", "costs_paid")
STEP_NAMES = {"threshold": "+threshold", "regime": "+regime", "risk": "+risk", "cost": "+cost filter"}


def raw_threshold(neutral: float, context) -> ThresholdStage:
    """The raw step's position: long where the score is above its neutral value."""
    return ThresholdStage(ThresholdConfig(entry=neutral, exit=neutral), context)


def run_ablation(prepared) -> list[dict]:
    """One row per step (and, for an ensemble, per member alone, then the ensemble), each a backtest
    of the prepared strategy's node with the step's stages."""
    context = prepared.overlay_context()
    rows = []
    for step in range(len(CATEGORIES) + 1):
        included = CATEGORIES[:step]
        chosen = [link for link in prepared.resolved.chain if link.overlay.category in included]
        neutral = context.neutral_score
        raw = [] if "threshold" in included or neutral is None else [raw_threshold(neutral, context)]
        stages = [prepared.signal_stage(replay=True), *raw, *build_chain(chosen, context)]
        rows.append(_row(prepared, "raw" if step == 0 else STEP_NAMES[included[-1]], chosen, stages))
    members, chain = {} if prepared.predictions is None else prepared.predictions.members, prepared.resolved.chain
    for name, probabilities in members.items():
        alone = ReplayedProbabilities(f"model:{name}", probabilities)
        rows.append(_row(prepared, f"{name} alone", chain, [alone, *build_chain(chain, context)]))
    if members:  # every category included: the last step is the whole chain, the ensemble's backtest
        rows.append({**rows[len(CATEGORIES)], "step": "ensemble"})
    return rows


def _row(prepared, step: str, chain, stages) -> dict:
    """A step's backtest: its name, the overlays it includes, and COLUMNS of its net metrics."""
    metrics = compute_metrics(simulate(prepared, stages=stages).execution, prepared.periods_per_year)
    return {"step": step, "overlays": [link.overlay.name for link in chain], **{column: metrics[column] for column in COLUMNS}}
