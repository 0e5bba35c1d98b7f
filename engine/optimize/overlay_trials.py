"""Overlay-only trials: parameter sets that change only what comes after the model, evaluated over
one validation period prepared once per study.

What no parameter changes is computed once: the bars loaded, the model's predictions (from the
prediction cache) and where trading may start; and, through a `StageMemo`, what the overlays
derive from the bars alone (moving averages, volatility windows, GARCH forecasts) and the
signal's quality (its IC against the forward returns). Per trial only the strategy's parameters
are applied, the overlays they change resolved (and a threshold calibrated, where the study leaves
it to the calibration) and its backtest run through the strategy's node: the same values as
`evaluation.evaluate` gives the same parameters, which a test compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.optimize.evaluation import Evaluation, Split, judge
from engine.optimize.space import resolve_overlay_parameters
from engine.overlays.calibration import calibrate_thresholds
from engine.overlays.chain import build_chain
from engine.overlays.memo import StageMemo
from engine.strategies.resolution import ResolvedStrategy, resolve_strategy
from engine.strategies.schema import Strategy
from engine.usecases.backtest import PreparedStrategy, loaded, trained
from engine.workspace import Workspace

if TYPE_CHECKING:  # they import torch, which a rule strategy's study never needs
    from engine.models.walkforward import TrainedFold
    from engine.signals.cache import PredictionCache


class OverlayTrials:
    def __init__(
        self,
        strategy: Strategy,
        split: Split,
        workspace: Workspace,
        predictions: PredictionCache,
        on_fold: Callable[[TrainedFold], None] | None = None,
    ) -> None:
        """Trials of the study's `strategy` over its `split`'s validation period; `on_fold` hears each
        fold trained, where the first trial finds no cached predictions."""
        self.strategy, self.split, self.workspace, self.on_fold = strategy, split, workspace, on_fold
        self.memo = StageMemo()
        self._validation: ResolvedStrategy | None = None  # resolved by the first trial: its errors fail that trial
        self._model_ready: PreparedStrategy | None = None  # prepared by the first trial, as the strategy resolved
        self._predictions = predictions

    def _prepared(self, resolved: ResolvedStrategy) -> PreparedStrategy:
        """`resolved` prepared as `evaluation.evaluate` would, from the study's bars and predictions."""
        if self._model_ready is None:
            first = loaded(resolved, self.workspace)
            # Prepared without overlays, so that no calibration moves where trading starts: each
            # trial's own chain is calibrated below, as `prepare` calibrates it.
            bare = ResolvedStrategy(resolved.strategy.model_copy(update={"overlays": []}), resolved.model, (), resolved.plugins)
            self._model_ready = trained(replace(first, resolved=bare), self.workspace, self.on_fold, self._predictions)
        prepared, calibration = calibrate_thresholds(replace(self._model_ready, resolved=resolved))
        return replace(prepared, calibration=calibration)

    def evaluate(self, parameters: dict[str, Any]) -> Evaluation:
        """The validation backtest of the study's strategy with `parameters`."""
        if self._validation is None:
            self._validation = resolve_strategy(self.split.validation(self.strategy), workspace=self.workspace)
        prepared = self._prepared(resolve_overlay_parameters(self._validation, parameters))
        context = replace(prepared.overlay_context(), memo=self.memo)
        return judge(prepared, [prepared.signal_stage(replay=True), *build_chain(prepared.resolved.chain, context)], self.memo)
