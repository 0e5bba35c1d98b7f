"""A trial as a strategy file: the study's strategy with the trial's parameters, under a new name."""

from __future__ import annotations

from pathlib import Path

import tomli_w

from engine import resources
from engine.optimize.errors import OptimizeError
from engine.optimize.space import apply_parameters
from engine.optimize.study import OpenStudy
from engine.stores.files import atomic_write
from engine.strategies.schema import check_name


def export_trial(opened: OpenStudy, number: int, name: str, folder: Path, overwrite: bool = False) -> Path:
    trials = opened.study.get_trials(deepcopy=False)
    if not 0 <= number < len(trials) or trials[number].state.name != "COMPLETE":
        raise OptimizeError(f"study {opened.study.study_name!r} has no completed trial {number}")
    try:
        check_name(name)
    except ValueError as error:
        raise OptimizeError(f"--as: {error}") from None
    path = folder / f"{name}.toml"
    if path.exists() and not overwrite:
        raise OptimizeError(f"{path} exists; choose another --as NAME or pass --force")
    if (resources.ROOT / resources.STRATEGIES / path.name).exists() and not overwrite:
        raise OptimizeError(f"--as {name} would hide the built-in strategy {name}; choose another --as NAME or pass --force")
    trial = trials[number]
    parameters = trial.user_attrs["parameters"]
    tuned = ", ".join(f"{path} = {value}" for path, value in parameters.items())
    description = f"{opened.strategy.name} tuned by study {opened.study.study_name!r}, trial {number}: {tuned}."
    tuned_strategy = apply_parameters(opened.strategy, parameters, opened.workspace)
    strategy = tuned_strategy.model_copy(update={"name": name, "description": description})
    split = opened.split
    header = (
        f"# Exported from study {opened.study.study_name!r}, trial {number}.\n"
        f"# Its validation metrics came from `engine backtest --strategy {name} --end {split.validation_end}`;\n"
        f"# the holdout starts {split.holdout_start}.\n\n"
    )
    text = header + tomli_w.dumps(strategy.model_dump(mode="json", exclude_none=True))
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
