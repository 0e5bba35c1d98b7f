"""Threshold calibration by net Sharpe after costs, not by F1.

A threshold overlay with `calibrate` tries every (entry, exit) pair of its grid (exit <= entry)
on a validation window: the first `validation_bars` bars the strategy could trade. The pair with
the best net Sharpe replaces the grid in the resolved strategy, and trading (and so every reported
metric) starts after the window, on bars the choice never saw.
"""

from __future__ import annotations

from dataclasses import replace

from engine.metrics import compute_metrics


def calibrate_thresholds(prepared, simulate) -> tuple[object, list[dict]]:
    """Return the prepared strategy with calibrated thresholds, and a record of each search.

    `simulate(prepared)` runs a backtest (passed in to keep this module free of the pipeline).
    """
    strategy, records = prepared.strategy, []
    for position, table in enumerate(strategy.overlays):
        if table.get("kind") != "threshold" or not table.get("calibrate"):
            continue
        spec = {"validation_bars": 500, "entries": [0.5, 0.55, 0.6, 0.65], "exits": [0.4, 0.45, 0.5], **table["calibrate"]}
        window_end = prepared.trade_from + spec["validation_bars"]
        if window_end >= len(prepared.bars):
            raise ValueError(
                f"overlays[{position}].calibrate.validation_bars: {spec['validation_bars']} bars of validation leave "
                f"nothing to trade ({len(prepared.bars) - prepared.trade_from} tradable bars)"
            )
        window = replace(prepared, bars=prepared.bars.slice(0, window_end))
        trials = []
        for entry in spec["entries"]:
            for exit_ in spec["exits"]:
                if exit_ > entry:
                    continue
                candidate = _with_threshold(strategy, position, table, entry, exit_)
                metrics = compute_metrics(simulate(replace(window, strategy=candidate)).execution, strategy.periods_per_year)
                trials.append({"entry": entry, "exit": exit_, "sharpe": metrics["sharpe"], "trades": metrics["trades"]})
        best = max(trials, key=lambda trial: -float("inf") if trial["sharpe"] is None else trial["sharpe"])
        strategy = _with_threshold(strategy, position, table, best["entry"], best["exit"])
        records.append(
            {
                "overlay": position,
                "validation_start": str(prepared.bars.index()[prepared.trade_from]),
                "validation_end": str(prepared.bars.index()[window_end - 1]),
                "chosen": {"entry": best["entry"], "exit": best["exit"]},
                "trials": trials,
            }
        )
        prepared = replace(prepared, strategy=strategy, trade_from=window_end)
    return prepared, records


def _with_threshold(strategy, position: int, table: dict, entry: float, exit_: float):
    overlays = list(strategy.overlays)
    overlays[position] = {key: value for key, value in table.items() if key != "calibrate"} | {"entry": entry, "exit": exit_}
    return strategy.model_copy(update={"overlays": overlays})
