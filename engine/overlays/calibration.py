"""Threshold calibration by net Sharpe after costs, not by F1.

A threshold overlay with `calibrate` tries every (entry, exit) pair of its grid (exit <= entry)
on a validation window: the first `validation_bars` bars the strategy could trade. The pair with
the best net Sharpe replaces the grid in the resolved strategy, and trading (and so every reported
metric) starts after the window, on bars the choice never saw. A model's predictions are replayed,
not recomputed, for every pair.

When no pair trades in the window there is nothing to choose by (every Sharpe is undefined), and
the calibration fails rather than keep an arbitrary pair. A choice made on a few trades is kept and
flagged (engine.analytics.plausibility).
"""

from __future__ import annotations

from dataclasses import replace

from engine import progress
from engine.analytics.metrics import compute_metrics
from engine.kernel.node import simulate
from engine.strategies.schema import StrategyError


class CalibrationError(StrategyError):
    """No candidate pair made a trade in the validation window; the message names the candidates."""


def calibrate_thresholds(prepared) -> tuple[object, list[dict]]:
    """Return the prepared strategy with calibrated thresholds, and a record of each search; each
    candidate is a backtest of the window through the strategy's node."""
    records = []
    for position, table in enumerate(prepared.strategy.overlays):
        if table.get("kind") != "threshold" or not table.get("calibrate"):
            continue
        spec = {"validation_bars": 500, "entries": [0.5, 0.55, 0.6, 0.65], "exits": [0.4, 0.45, 0.5], **table["calibrate"]}
        window_end = prepared.trade_from + spec["validation_bars"]
        if window_end >= len(prepared.bars):
            raise StrategyError(
                f"strategy {prepared.strategy.name}: overlays[{position}].calibrate.validation_bars: {spec['validation_bars']} "
                f"bars of validation leave nothing to trade ({len(prepared.bars) - prepared.trade_from} tradable bars)"
            )
        window = replace(prepared, bars=prepared.bars.slice(0, window_end))
        pairs = [(entry, exit_) for entry in spec["entries"] for exit_ in spec["exits"] if exit_ <= entry]
        progress.stage(f"calibrating overlays[{position}] thresholds", len(pairs), "pair")
        trials = []
        for entry, exit_ in pairs:
            candidate = replace(window, resolved=window.resolved.with_overlay(position, _threshold(table, entry, exit_)))
            metrics = compute_metrics(simulate(candidate).execution, prepared.periods_per_year)
            trials.append({"entry": entry, "exit": exit_, "sharpe": metrics["sharpe"], "trades": metrics["trades"]})
            progress.advance()
        if not any(trial["trades"] for trial in trials):
            index, candidates = prepared.bars.index(), ", ".join(f"{trial['entry']:g}/{trial['exit']:g}" for trial in trials)
            raise CalibrationError(
                f"strategy {prepared.strategy.name}: overlays[{position}].calibrate: none of the entry/exit candidates "
                f"{candidates} made a trade in its validation window ({index[prepared.trade_from].date()} to "
                f"{index[window_end - 1].date()}); give entries and exits the signal reaches"
            )
        best = max(trials, key=lambda trial: -float("inf") if trial["sharpe"] is None else trial["sharpe"])
        records.append(
            {
                "overlay": position,
                "given": table,  # the overlay as the strategy gave it, what a rebuild calibrates again
                "validation_start": str(prepared.bars.index()[prepared.trade_from]),
                "validation_end": str(prepared.bars.index()[window_end - 1]),
                "chosen": {"entry": best["entry"], "exit": best["exit"]},
                "trials": trials,
            }
        )
        resolved = prepared.resolved.with_overlay(position, _threshold(table, best["entry"], best["exit"]))
        prepared = replace(prepared, resolved=resolved, trade_from=window_end)
    return prepared, records


def _threshold(table: dict, entry: float, exit_: float) -> dict:
    return {key: value for key, value in table.items() if key != "calibrate"} | {"entry": entry, "exit": exit_}
