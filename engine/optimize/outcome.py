"""What a study concludes with: its Pareto front evaluated once on the holdout, each member's
deflated Sharpe, the warnings the front deserves and the HTML report. `engine optimize` prints it;
the Python API (engine.api) returns it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine import progress
from engine.optimize.holdout import deflated_sharpes, evaluate_holdout
from engine.optimize.pareto import ParetoFront, front_warnings, pareto_front
from engine.optimize.report import pareto_table, write_study_report
from engine.optimize.study import OpenStudy
from engine.report.render import Table


@dataclass(frozen=True)
class StudyOutcome:
    opened: OpenStudy
    front: ParetoFront
    holdout: dict[str, dict]  # each member's holdout metrics, by trial number
    deflated: dict[int, float | None]  # each member's deflated Sharpe
    warnings: list[str]
    report: Path

    def pareto(self) -> Table:
        """One row per Pareto member, as displayed."""
        return pareto_table(self.opened, self.front, self.holdout, self.deflated)

    def front_frame(self) -> pd.DataFrame:
        table = self.pareto()
        return pd.DataFrame(table.rows, columns=table.columns).set_index(table.columns[0])


def conclude(opened: OpenStudy, evaluate: bool) -> StudyOutcome:
    """The holdout evaluation of the Pareto members not evaluated yet (unless `evaluate` is False: an
    interrupted study keeps what it has), then the report."""
    front = pareto_front(opened.study)
    if evaluate:
        progress.stage("evaluating the Pareto front on the holdout")
    holdout = evaluate_holdout(opened, opened.workspace, front) if evaluate else dict(opened.study.user_attrs.get("holdout", {}))
    deflated = deflated_sharpes(opened.study, front.trials)
    warnings = front_warnings(front, holdout)
    progress.stage("writing the study report")
    report = write_study_report(opened, opened.workspace.runs.root, front, holdout, deflated, warnings)
    return StudyOutcome(opened, front, holdout, deflated, warnings, report)
