"""A study's results as tables and an HTML report (Pareto front, history, importances).

The report goes to `runs/studies/<study>/report.html`, self-contained like a run's tearsheet; the
charts are Optuna's own matplotlib plots.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib
import optuna

matplotlib.use("Agg")  # Optuna draws through pyplot: files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import optuna.visualization.matplotlib as optuna_plots  # noqa: E402

from engine.analytics.formatting import format_metric
from engine.optimize.pareto import ParetoFront, ParetoMember, traded_study
from engine.optimize.storage import safe_url
from engine.optimize.study import OpenStudy
from engine.optimize.summary import completed, counts, feasible, importances, loss
from engine.report import charts
from engine.report.render import Chart, Table, render, write_report_folder

TRIAL_METRICS = ("trades", "turnover", "total_return")
HOLDOUT_METRICS = ("sharpe", "max_drawdown", "total_return", "trades")


def parameter_lines(parameters: dict) -> str:
    """A trial's parameters, one `path = value` per line (one cell, however many are tuned)."""
    lines = (f"{path} = {value:.4g}" if isinstance(value, float) else f"{path} = {value}" for path, value in parameters.items())
    return "\n".join(lines)


def member_label(member: ParetoMember) -> str:
    """The member's trial number, and the later trials that repeated its parameters."""
    repeats = f" (also {', '.join(map(str, member.repeats))})" if member.repeats else ""
    return f"{member.trial.number}{repeats}"


def pareto_table(opened: OpenStudy, front: ParetoFront, holdout: dict[str, dict], deflated: dict[int, float | None]) -> Table:
    """One row per Pareto member: objectives and validation metrics, holdout metrics, deflated Sharpe, parameters."""
    rows = []
    for member in front.members:
        trial = member.trial
        validation, tested = trial.user_attrs["evaluation"]["metrics"], holdout.get(str(trial.number), {})
        rows.append(
            [
                member_label(member),
                *(format_metric(objective.name, validation[objective.name]) for objective in opened.objectives),
                *(format_metric(name, validation[name]) for name in TRIAL_METRICS),
                *(format_metric(name, tested.get(name)) for name in HOLDOUT_METRICS),
                format_metric("deflated_sharpe", deflated.get(trial.number)),
                parameter_lines(trial.user_attrs["parameters"]),
            ]
        )
    return Table(
        [
            "trial",
            *(objective.name for objective in opened.objectives),
            *TRIAL_METRICS,
            *(f"holdout {name}" for name in HOLDOUT_METRICS),
            "deflated sharpe",
            "parameters",
        ],
        rows,
    )


def importance_table(study: optuna.Study) -> Table | None:
    by_objective = importances(study)
    if not by_objective:
        return None
    parameters = sorted({name for values in by_objective.values() for name in values})
    return Table(
        ["parameter", *by_objective],
        [[name, *(f"{values.get(name, 0.0):.3f}" for values in by_objective.values())] for name in parameters],
    )


def study_folder(root: Path, study: optuna.Study) -> Path:
    return root / "studies" / re.sub(r"[^A-Za-z0-9._-]+", "_", study.study_name)


def _save_axes(axes, path: Path) -> Path:
    figure = axes.figure
    try:
        figure.set_size_inches(*charts.SIZE)
        figure.tight_layout()  # Optuna's figures are laid out for the size it chose
        return charts.save(figure, path)
    finally:
        plt.close(figure)


def _charts(opened: OpenStudy, folder: Path) -> list[Chart]:
    study, names = opened.study, [objective.name for objective in opened.objectives]
    drawn = []
    # Optuna's plots switch pyplot to the ggplot style for good; rc_context puts the process's
    # settings back afterwards, so that charts drawn later in the process look as they always do.
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # PED-ANOVA's reminder that it ranks low values
        traded = traded_study(study)  # a trial that never traded is no point of the front
        if len(names) > 1 and traded.trials:
            axes = optuna_plots.plot_pareto_front(traded, target_names=names, targets=lambda trial: trial.values[:2])
            drawn.append(Chart("Pareto front (trials that traded)", _save_axes(axes, folder / "pareto.png")))
        for index, name in enumerate(names):
            axes = optuna_plots.plot_optimization_history(study, target=lambda t, i=index: t.values[i], target_name=name)
            drawn.append(Chart(f"Optimization history: {name}", _save_axes(axes, folder / f"history_{name}.png")))
        if importances(study):
            for index, name in enumerate(names):
                axes = optuna_plots.plot_param_importances(study, target=loss(study, index), target_name=name)
                drawn.append(Chart(f"Parameter importances: {name}", _save_axes(axes, folder / f"importances_{name}.png")))
    return drawn


def write_study_report(
    opened: OpenStudy,
    root: Path,
    front: ParetoFront,
    holdout: dict[str, dict],
    deflated: dict[int, float | None],
    study_warnings: list[str],
) -> Path:
    """Write the study's HTML report under `root/studies/`; returns its path."""
    study = opened.study

    def build(folder: Path) -> None:
        context = {
            "study": study,
            "storage": safe_url(opened.storage_url),
            "attributes": study.user_attrs,
            "counts": counts(study),
            "feasible": sum(feasible(trial) for trial in completed(study)),
            "pareto": pareto_table(opened, front, holdout, deflated),
            "warnings": study_warnings,
            "importances": importance_table(study),
            "charts": _charts(opened, folder / "charts") if completed(study) else [],
        }
        render("study.html.j2", context, folder / "report.html", folder)

    return write_report_folder(study_folder(root, study), build) / "report.html"
