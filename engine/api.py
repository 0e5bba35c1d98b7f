"""The Python API: the few calls a notebook needs, the same use cases the CLI and the TUI run.

    import engine

    research = engine.open_workspace()      # $ENGINE_HOME or the current directory, or a path
    gru93 = research.backtest("gru93")      # stored as a run with its report, as `engine backtest` stores it
    gru93                                   # in a notebook: its metrics beside its baselines
    gru93.plot()                            # its equity beside theirs
    research.train("gru93")                 # walk-forward folds, out of sample
    research.check("sma_cross")             # chunk invariance: the lookahead check
    research.optimize("sma_cross", trials=20)
    research.compare(gru93.run_id, "latest")

Every result is plain data underneath (`metrics`, `equity`, `trades`, `folds`, `front` are dicts and
pandas frames); what a notebook shows of one is its `_repr_html_`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.analytics.formatting import format_metric
from engine.strategies.resolution import strategy_with_overrides
from engine.strategies.schema import LEARNED_SIGNALS, StrategyError
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.models.walkforward import TrainedFold
    from engine.stores.runs import StoredRun
    from engine.usecases.check import CheckReport


@dataclass(frozen=True)
class Run:
    """A finished run of the run store (a backtest or a paper session): what `engine runs show` shows."""

    stored: StoredRun

    @property
    def run_id(self) -> str:
        return self.stored.run_id

    @property
    def metrics(self) -> dict:
        """The strategy's metrics, net of costs."""
        return self.stored.metrics["strategy"]

    @property
    def baselines(self) -> dict[str, dict]:
        """Each baseline's metrics over the same bars ("buy & hold"; "sma_cross" for model strategies)."""
        return self.stored.metrics["baselines"]

    @property
    def warnings(self) -> list[str]:
        return self.stored.metrics.get("warnings", [])

    @property
    def risk(self) -> dict | None:
        """What the risk gate did (engine.kernel.risk.risk_record), where it had limits to watch."""
        return self.stored.risk

    @property
    def trades(self) -> pd.DataFrame:
        return self.stored.trades

    @property
    def report(self) -> Path:
        """The run's HTML tearsheet (`engine report RUN` writes it again)."""
        return self.stored.path / "report" / "report.html"

    @cached_property
    def equity(self) -> pd.DataFrame:
        """Net equity at each close: the strategy's and each baseline's, by timestamp."""
        equity = self.stored.equity.set_index("timestamp")[["equity"]].rename(columns={"equity": self.name})
        baselines = self.stored.baselines
        return equity if baselines is None else equity.join(baselines.set_index("timestamp"))

    @property
    def name(self) -> str:
        return self.stored.manifest["strategy"]

    def table(self) -> pd.DataFrame:
        """One row per metric, formatted; one column for the strategy and one per baseline."""
        return metrics_table({self.name: self.metrics, **self.baselines})

    def plot(self, ax=None):
        """The equity curves on matplotlib axes (new ones unless given); returns the axes."""
        ax = self.equity.plot(ax=ax, title=f"{self.name}: net equity", ylabel="equity")
        ax.grid(alpha=0.3)
        return ax

    def __repr__(self) -> str:
        net = format_metric("net_total_return", self.metrics.get("net_total_return"))
        return f"Run({self.run_id}: {self.name}, net return {net})"

    def _repr_html_(self) -> str:
        halted = (self.risk or {}).get("halted")
        notes = [*self.warnings, *([f"risk gate: halted at {halted['timestamp']} ({halted['reason']})"] if halted else [])]
        notes_html = "".join(f"<p>{html.escape(note)}</p>" for note in notes)
        return f"<p><b>{self.name}</b> run {self.run_id}</p>{self.table().to_html()}{notes_html}"


def metrics_table(columns: dict[str, dict]) -> pd.DataFrame:
    """Metrics by name (rows) for each run or baseline (columns), formatted as the CLI prints them."""
    names = list(next(iter(columns.values())))
    return pd.DataFrame(
        {column: [format_metric(name, values.get(name)) for name in names] for column, values in columns.items()}, index=names
    )


@dataclass(frozen=True)
class Training:
    """A model strategy's walk-forward: each fold's out-of-sample classification metrics and signal
    quality (IC, RankIC), and over all folds; how the IC was measured (engine.analytics.signal_quality)."""

    strategy: str
    folds: list[dict]
    overall: dict
    signal_quality: dict  # basis, horizon, window, min_symbols, and per symbol on the time-series basis

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.folds).set_index("fold")

    def _repr_html_(self) -> str:
        auc, rank_ic = self.overall.get("roc_auc"), self.overall.get("rank_ic")
        summary = "" if auc is None else f", out-of-sample ROC-AUC {auc:.3f} over all folds"
        summary += "" if rank_ic is None else f", RankIC {rank_ic:.3f} ({self.signal_quality['basis']})"
        return f"<p><b>{self.strategy}</b>: {len(self.folds)} walk-forward folds{summary}</p>{self.table().to_html()}"


@dataclass(frozen=True)
class Check:
    """`engine check`'s verdict: every stage, the fills and the equity at each chunk size against the whole history."""

    strategy: str
    report: CheckReport

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def moving_stages(self) -> list[str]:
        return self.report.moving_stages

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([vars(difference) for difference in self.report.differences])

    def _repr_html_(self) -> str:
        verdict = "chunk-invariant" if self.passed else f"moves at {', '.join(self.moving_stages) or 'execution'}"
        return f"<p><b>{self.strategy}</b>: {verdict}</p>{self.table().to_html(index=False)}"


@dataclass(frozen=True)
class Study:
    """An Optuna study as `engine optimize` leaves it: its Pareto front, with holdout results."""

    name: str
    front: pd.DataFrame
    report: Path
    warnings: list[str]

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{warning}</p>" for warning in self.warnings)
        return f"<p>study <b>{self.name}</b>: Pareto front (validation; holdout once each)</p>{self.front.to_html()}{notes}"


class Research:
    """A workspace opened for research: its strategies, data, models, plugins and runs."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def __repr__(self) -> str:
        return f"Research({self.workspace.root})"

    def backtest(
        self,
        strategy: str,
        *,
        symbols: list[str] | None = None,
        timeframe: str | None = None,
        start: str | None = None,
        end: str | None = None,
        commission_bps: float | None = None,
        slippage_bps: float | None = None,
        size_at: str | None = None,
        kill_switch: str = "",
        chunk: int | None = None,
        execution: str = "vectorized",
        ablation: bool = False,
        on_fold: Callable[[TrainedFold], None] | None = None,
    ) -> Run:
        """`engine backtest` with the same options: the strategy (a name or a .toml path) backtested,
        stored as a run with its report, and read back from the run store."""
        from engine.kernel.node import broker_of
        from engine.kernel.risk import parse_kill_switch
        from engine.usecases.backtest_run import journaled_backtest

        limits = parse_kill_switch(kill_switch)
        resolved = strategy_with_overrides(
            strategy, self.workspace, symbols, timeframe, start, end, commission_bps, slippage_bps, size_at, limits
        )
        command = ["engine.api", "backtest", strategy]
        stored = journaled_backtest(
            resolved, self.workspace, command, chunk, broker_of(execution), on_fold=on_fold, ablation=ablation
        )
        return self.run(stored.run_id)

    def train(self, strategy: str, on_fold: Callable[[TrainedFold], None] | None = None) -> Training:
        """`engine train`: a model strategy's walk-forward folds, trained or reused from the model store."""
        from engine.models.walkforward import classification_metrics
        from engine.usecases.backtest import prepare
        from engine.usecases.signal_quality import walk_forward_signal_quality

        resolved = strategy_with_overrides(strategy, self.workspace)
        signal = resolved.strategy.signal
        if not isinstance(signal, LEARNED_SIGNALS):
            raise StrategyError(f"strategy {resolved.name} has no model to train (signal.kind is {signal.kind!r})")
        prepared = prepare(resolved, self.workspace, on_fold=on_fold)
        walk_forward = prepared.walk_forward
        predicted = np.isfinite(walk_forward.predictions) & np.isfinite(walk_forward.labels)
        overall = classification_metrics(walk_forward.labels[predicted], walk_forward.predictions[predicted])
        quality = walk_forward_signal_quality(prepared)
        folds = [fold | ic for fold, ic in zip(walk_forward.fold_metrics(), quality.by_span(), strict=True)]
        record = quality.to_record()
        how = {key: record[key] for key in ("basis", "horizon", "window", "min_symbols", "by_symbol")}
        return Training(resolved.name, folds, overall | quality.overall(), how)

    def check(self, strategy: str, chunks: tuple[int, ...] = (1, 7), on_chunk: Callable[[int], None] | None = None) -> Check:
        """`engine check`: the strategy's node at each chunk size against the whole history."""
        from engine.usecases.backtest import prepare
        from engine.usecases.check import check_chunk_invariance

        resolved = strategy_with_overrides(strategy, self.workspace)
        return Check(resolved.name, check_chunk_invariance(prepare(resolved, self.workspace), chunks, on_chunk))

    def optimize(
        self,
        strategy: str,
        trials: int,
        *,
        objectives: str = "sharpe,max_drawdown",
        sampler: str | None = None,
        seed: int | None = None,
        space: str | None = None,
        storage: str | None = None,
        study: str | None = None,
        workers: int = 1,
    ) -> Study:
        """`engine optimize`: trials until the study has `trials` finished ones, then its Pareto front
        evaluated once on the holdout, and its report; journaled in the run store as a study run."""
        from engine.optimize.outcome import conclude
        from engine.optimize.space import find_space_file
        from engine.optimize.study import StudySettings, finished, open_study, run_study, study_record
        from engine.stores.runs import RunRecords

        settings = StudySettings(
            strategy=strategy,
            trials=trials,
            home=str(self.workspace.root),
            objectives=objectives,
            sampler=sampler,
            storage=storage,
            study=study,
            workers=workers,
            seed=seed,
            space_file=str(find_space_file(space, self.workspace)) if space else None,
        )
        opened = open_study(settings)  # bad settings fail here, before a run exists
        with self.workspace.runs.open("study", opened.strategy.name, ["engine.api", "optimize", strategy]) as journal:
            opened = run_study(settings, lambda study: journal.progress(min(finished(study), trials), trials))
            outcome = conclude(opened, evaluate=True)
            journal.finish(RunRecords({"study.json": study_record(opened)}))
        return Study(opened.study.study_name, outcome.front_frame(), outcome.report, outcome.warnings)

    def runs(self) -> pd.DataFrame:
        """Every run of the workspace, as `engine runs list --json` lists them."""
        return pd.DataFrame([summary.to_json() for summary in self.workspace.runs.list()])

    def run(self, reference: str = "latest") -> Run:
        """A finished run by id, unique prefix or `latest`."""
        runs = self.workspace.runs
        return Run(runs.load(runs.resolve(reference)))

    def compare(self, *references: str) -> pd.DataFrame:
        """Runs side by side: one column of metrics per run (`engine report --compare` draws them)."""
        shown = [self.run(reference) for reference in references]
        return metrics_table({f"{run.name} ({run.run_id})": run.metrics for run in shown})
