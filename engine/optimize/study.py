"""A study: one strategy tuned in an Optuna storage, by one or more worker processes.

Its storage (engine.optimize.storage) is shared by the workers. Workers send heartbeats, and each
trial records its worker (host and process), so a trial whose worker died (SIGKILL, a lost machine)
is marked failed by the next worker or `optimize show` instead of staying "running" forever: at
once when the worker's process is gone from this machine, otherwise once its heartbeats stop.
A study that tunes only overlays runs in generations instead (engine.optimize.generations), which
never leave a running trial in the storage.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import optuna
from optuna.pruners import MedianPruner, NopPruner
from optuna.samplers import BaseSampler, NSGAIISampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from engine.models.walkforward import TrainedFold
from engine.optimize.errors import OptimizeError, SearchSpaceError
from engine.optimize.evaluation import Objective, Split, evaluate, parse_objectives
from engine.optimize.generations import Generations
from engine.optimize.overlay_trials import OverlayTrials
from engine.optimize.space import SearchSpace, apply_parameters, read_space_file
from engine.optimize.storage import DEFAULT_HEARTBEAT, DONE, safe_url, workspace_storage
from engine.optimize.summary import failed
from engine.optimize.trial_batches import count_trials
from engine.overlays.calibration import CalibrationError
from engine.signals.cache import PredictionCache
from engine.stores.processes import gone
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import Strategy, parse_strategy
from engine.workspace import Workspace

SAMPLERS = ("nsga2", "tpe", "random")
SUMMARY_METRICS = ("sharpe", "sortino", "calmar", "max_drawdown", "total_return", "trades", "turnover", "costs_paid", "bars")


@dataclass(frozen=True)
class StudySettings:
    """What `engine optimize` was asked to do; plain data, so worker processes can receive it."""

    strategy: str  # a name or a .toml path
    trials: int  # the study's target of finished trials (a resumed study continues toward it)
    home: str  # the workspace (worker processes receive it too)
    objectives: str = "sharpe,max_drawdown"
    sampler: str | None = None  # default: nsga2 for several objectives, tpe for one
    storage: str | None = None
    study: str | None = None  # default: the strategy's name
    workers: int = 1
    timeout: float | None = None  # seconds, per worker
    seed: int | None = None
    space_file: str | None = None
    heartbeat: int = DEFAULT_HEARTBEAT  # seconds; a trial silent for 3 heartbeats is failed


def make_sampler(name: str, seed: int | None) -> BaseSampler:
    if name == "nsga2":
        return NSGAIISampler(seed=seed)
    if name == "tpe":
        return TPESampler(seed=seed)
    if name == "random":
        return RandomSampler(seed=seed)
    raise OptimizeError(f"--sampler {name!r}: choose one of {', '.join(SAMPLERS)}")


@dataclass
class OpenStudy:
    study: optuna.Study
    strategy: Strategy  # as the study was created (its file may have changed since)
    space: SearchSpace
    objectives: list[Objective]
    split: Split
    storage_url: str
    workspace: Workspace  # whose data, models, plugins and strategies the trials use


def open_study(settings: StudySettings, worker: int = 0) -> OpenStudy:
    """Create the study, or load it and check that it is the same search: same strategy, objectives and space.
    Nothing is written to an existing study here."""
    workspace = Workspace(Path(settings.home))
    strategy = load_strategy(settings.strategy, workspace)
    resolve_strategy(strategy, workspace=workspace)  # a strategy its plugins reject fails here, not in every trial
    objectives = parse_objectives(settings.objectives)
    sampler_name = settings.sampler or ("nsga2" if len(objectives) > 1 else "tpe")
    sampler = make_sampler(sampler_name, None if settings.seed is None else settings.seed + worker)
    # Optuna prunes single-objective studies only; steps are walk-forward folds (TrialObjective).
    pruner = MedianPruner(n_startup_trials=5) if len(objectives) == 1 else NopPruner()
    spec = read_space_file(Path(settings.space_file)) if settings.space_file else None
    space = SearchSpace.of(strategy, spec, settings.space_file, workspace.registry)
    storage = workspace_storage(settings.storage, workspace, settings.heartbeat)
    name = settings.study or strategy.name
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        study = None
    space_source = f"--space {settings.space_file}" if settings.space_file else f"strategy {strategy.name}'s [optimize] table"
    if study is not None:
        return _check_existing(study, strategy, space, space_source, objectives, storage, workspace)
    split = Split.of(strategy, workspace)
    study = optuna.create_study(
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        study_name=name,
        directions=[o.direction for o in objectives],
        load_if_exists=True,
    )
    if "strategy" in study.user_attrs:  # another worker created it first
        return _check_existing(study, strategy, space, space_source, objectives, storage, workspace)
    attributes = {
        "strategy_config": strategy.model_dump(mode="json"),
        "objectives": [o.name for o in objectives],
        "sampler": sampler_name,
        "split": asdict(split),
        "space": space.describe(),
        "space_file": settings.space_file,  # the --space it was made with, so that a resume can name it again
        "strategy": strategy.name,  # last: a worker that sees it sees every other attribute
    }
    for key, value in attributes.items():
        study.set_user_attr(key, value)
    return OpenStudy(study, strategy, space, objectives, split, storage.url, workspace)


def _created_attributes(study: optuna.Study, wait: float = 10.0) -> dict:
    """The study's attributes; a study another worker has just created gets a moment to receive them."""
    deadline = time.monotonic() + wait
    while "strategy" not in study.user_attrs and not study.get_trials(deepcopy=False) and time.monotonic() < deadline:
        time.sleep(0.2)
    return study.user_attrs


def _check_existing(study, strategy, space, space_source, objectives, storage, workspace) -> OpenStudy:
    where = f"study {study.study_name!r} in {safe_url(storage.url)}"
    attributes = _created_attributes(study)
    if "strategy" not in attributes:
        raise OptimizeError(f"{where} was not created by `engine optimize`; choose another --study")
    if attributes["strategy"] != strategy.name:
        raise OptimizeError(f"{where} was created for strategy {attributes['strategy']!r}, not {strategy.name!r}")
    if attributes["objectives"] != [o.name for o in objectives]:
        raise OptimizeError(f"{where} optimizes {','.join(attributes['objectives'])}; it cannot continue with other --objectives")
    created_space = SearchSpace.from_description(attributes["space"])
    if created_space != space:  # trials of two spaces in one study would make one front of two searches
        raise OptimizeError(
            f"{where} was created with the search space {created_space}; {space_source} gives {space}: "
            "resume it with the same space, or start another --study"
        )
    created = parse_strategy(attributes["strategy_config"], f"{where}: its strategy")
    return OpenStudy(study, created, space, objectives, Split(**attributes["split"]), storage.url, workspace)


def load_study(name: str, storage_url: str | None, workspace: Workspace, heartbeat: int = DEFAULT_HEARTBEAT) -> OpenStudy:
    """An existing study as `engine optimize` created it (for show and export)."""
    storage = workspace_storage(storage_url, workspace, heartbeat)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = ", ".join(summary.study_name for summary in optuna.get_all_study_summaries(storage)) or "none"
        raise OptimizeError(f"no study {name!r} in {safe_url(storage.url)} (studies there: {known})") from None
    attributes = study.user_attrs
    if "strategy" not in attributes:
        raise OptimizeError(f"study {name!r} in {safe_url(storage.url)} was not created by `engine optimize`")
    strategy = parse_strategy(attributes["strategy_config"], f"study {name!r}: its strategy")
    return OpenStudy(
        study,
        strategy,
        SearchSpace.from_description(attributes["space"]),
        parse_objectives(",".join(attributes["objectives"])),
        Split(**attributes["split"]),
        storage.url,
        workspace,
    )


class TrialObjective:
    """A trial: parameters from the search space, a validation backtest, the objective values."""

    def __init__(self, opened: OpenStudy, workspace: Workspace, interruption: Interruption) -> None:
        self.opened, self.workspace, self.interruption = opened, workspace, interruption
        self.predictions = PredictionCache.in_store(workspace.models)
        # Overlay-only trials share one prepared validation period and what overlays derive from its bars.
        self.overlay_trials = None
        if opened.space.only_overlays:
            self.overlay_trials = OverlayTrials(opened.strategy, opened.split, workspace, self.predictions, self._interruptible)

    def _interruptible(self, trained: TrainedFold) -> None:
        self.interruption.check()

    def _after_fold(self, trial: optuna.Trial, trained: TrainedFold) -> None:
        """A walk-forward fold is trained: the point where a Ctrl-C stops a training trial, and where
        pruning (one objective) stops a model whose out-of-sample ROC-AUC is below the median of
        earlier trials at that fold, before the next folds are trained."""
        self.interruption.check()
        if len(self.opened.objectives) > 1 or trained.metrics.get("roc_auc") is None:
            return
        auc = trained.metrics["roc_auc"]
        trial.report(auc, trained.fold.index)
        if trial.should_prune():
            raise optuna.TrialPruned(f"fold {trained.fold.index}: out-of-sample ROC-AUC {auc:.3f} below the median")

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        try:
            return self._evaluate(trial)
        except Exception as error:
            # An abandoning Ctrl-C raised while numba-compiled code runs (vectorbt's simulation, the
            # overlay kernels) reaches us wrapped in a SystemError; it is still the Ctrl-C.
            if self.interruption.abandoned:
                raise KeyboardInterrupt from error
            raise

    def _evaluate(self, trial: optuna.Trial) -> tuple[float, ...]:
        trial.set_user_attr("worker", worker_name())  # first: if this process dies, a rerun fails the trial at once
        opened = self.opened
        parameters = opened.space.suggest(trial, opened.strategy, opened.workspace.registry)
        trial.set_user_attr("parameters", parameters)
        try:
            if self.overlay_trials is not None:
                evaluation = self.overlay_trials.evaluate(parameters)
            else:
                candidate = opened.split.validation(apply_parameters(opened.strategy, parameters, opened.workspace))
                evaluation = evaluate(candidate, self.workspace, self.predictions, partial(self._after_fold, trial))
        except SearchSpaceError as error:
            trial.set_user_attr("error", str(error))  # the trial fails; the study goes on
            raise
        except CalibrationError as error:
            trial.set_user_attr("error", str(error))  # these parameters leave the calibration nothing to choose by
            raise
        metrics = evaluation.metrics
        # One attribute, one write: a trial's storage round trips are a good part of its cost.
        trial.set_user_attr(
            "evaluation",
            {
                "metrics": {name: metrics[name] for name in SUMMARY_METRICS},
                "skewness": evaluation.returns_skewness,
                "kurtosis": evaluation.returns_kurtosis,
                "periods_per_year": evaluation.periods_per_year,
            },
        )
        # Optuna's constraints: a trial is feasible when each is ≤ 0; samplers and the Pareto front use them.
        limits = opened.strategy.optimize
        trial.set_constraint("min_trades", limits.min_trades - metrics["trades"])
        if limits.max_turnover is not None:
            trial.set_constraint("max_turnover", metrics["turnover"] - limits.max_turnover)
        return tuple(objective.value(metrics) for objective in opened.objectives)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_stale_trials(study: optuna.Study, heartbeat: int) -> None:
    """Mark as failed the running trials whose worker is gone: its process has ended on this machine,
    or (on any machine) it stopped sending heartbeats. A worker killed in the moment between starting
    a trial and recording itself in it (before its first heartbeat too: Optuna then never finds the
    trial stale) is known by that: a trial no worker claimed within three heartbeats of its start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, _, pid = trial.user_attrs.get("worker", "").rpartition(":")
        if (host and gone(host, int(pid))) or (not host and unclaimed_for(trial) > 3 * heartbeat):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


def unclaimed_for(trial: optuna.trial.FrozenTrial) -> float:
    """Seconds since the trial started (Optuna stamps it in this machine's local time)."""
    return (datetime.now() - trial.datetime_start).total_seconds() if trial.datetime_start else 0.0


def study_record(opened: OpenStudy) -> dict:
    """What a study's run in the run store keeps: where the study is and how far it got."""
    from engine.optimize.pareto import front_warnings, pareto_front
    from engine.optimize.summary import counts

    front = pareto_front(opened.study)
    return {
        "study": opened.study.study_name,
        "storage": safe_url(opened.storage_url),
        "objectives": [objective.name for objective in opened.objectives],
        "trials": counts(opened.study),
        "pareto_trials": [trial.number for trial in front.trials],
        "warnings": front_warnings(front, opened.study.user_attrs.get("holdout", {})),
    }


def finished(study: optuna.Study) -> int:
    """How many trials completed or were pruned, counted by the database (reading thousands back takes seconds)."""
    return count_trials(study, DONE)


class StopAtTarget:
    """Stops a worker once the study's finished and running trials reach the target (so workers
    together do not overshoot it), or after `max_failures` failed trials in a row."""

    def __init__(self, target: int, max_failures: int = 20) -> None:
        self.target, self.max_failures, self.failures = target, max_failures, 0

    def reached(self, study: optuna.Study) -> bool:
        return len(study.get_trials(deepcopy=False, states=(*DONE, TrialState.RUNNING))) >= self.target

    @property
    def gave_up(self) -> bool:
        return self.failures >= self.max_failures

    def note(self, trial: FrozenTrial) -> None:
        """A trial has finished: one more failure in a row, or none."""
        self.failures = self.failures + 1 if trial.state == TrialState.FAIL else 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.note(trial)
        if self.reached(study) or self.gave_up:
            study.stop()


class Interruption:
    """Ctrl-C (SIGINT) or SIGTERM while a worker optimizes.

    The first stops the worker at a safe point: a trial that only backtests finishes and is stored;
    one that trains a model fails after its current walk-forward fold (`check`). Nothing is raised
    inside Optuna's storage calls or compiled code, where it could leave a trial half-recorded.
    A second Ctrl-C abandons the running trial at once: Optuna fails it, or, if even that is cut
    short, its missed heartbeats will.
    """

    def __init__(self, study: optuna.Study | None) -> None:
        """`study`: the one to stop at once, whose `optimize` runs; None where the caller checks `requested`
        (generations, which the request may reach between Optuna's calls)."""
        self.study, self.requested, self.abandoned = study, False, False

    def request_stop(self, signum=None, frame=None) -> None:
        self.requested = True
        if self.study is not None:
            self.study.stop()

    def on_sigint(self, signum, frame) -> None:
        if not self.requested:
            self.request_stop()
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # later ones must not break the clean-up
        self.abandoned = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """A safe point inside a trial."""
        if self.requested:
            raise KeyboardInterrupt


def _optimize(opened: OpenStudy, settings: StudySettings, callbacks: list) -> StopAtTarget:
    """Trials until the target: together, workers may overshoot it by a trial when two of them
    finish at the same instant (as with Optuna's MaxTrialsCallback); in generations they stop at
    it exactly. Raises KeyboardInterrupt
    after a Ctrl-C, once the study is consistent. Returns why it stopped."""
    stop = StopAtTarget(settings.trials)
    if stop.reached(opened.study):  # a worker that started late finds the work done
        return stop
    generations = Generations(opened.study) if opened.space.only_overlays else None
    interruption = Interruption(opened.study if generations is None else None)
    objective = TrialObjective(opened, opened.workspace, interruption)
    catch = (SearchSpaceError, CalibrationError)  # a parameter combination the strategy rejects fails that trial only
    previous = signal.signal(signal.SIGINT, interruption.on_sigint), signal.signal(signal.SIGTERM, interruption.request_stop)
    try:
        if generations is not None:
            generations.run(objective, stop, lambda: interruption.requested, settings.timeout, catch, callbacks)
        else:
            opened.study.optimize(
                objective, timeout=settings.timeout, catch=catch, callbacks=[stop, *callbacks], gc_after_trial=False
            )
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    if interruption.requested:
        raise KeyboardInterrupt
    return stop


def _interrupt_once(signum, frame) -> None:
    """Ctrl-C while waiting for worker processes; later ones must not break passing it on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextmanager
def sharing_cores(processes: int) -> Iterator[None]:
    """One of `processes` workers on this machine, each with its share of the cores for torch's
    threads: with torch's default of a thread per core in each, their threads contend for the cores
    and training slows several times. The thread count is restored afterwards."""
    if processes <= 1:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // processes))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _worker(settings: StudySettings, worker: int, processes: int) -> None:
    """A worker process (of `processes` on this machine): trials on the shared study until it reaches its target."""
    try:
        with sharing_cores(processes):
            _optimize(open_study(settings, worker), settings, [])
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def run_study(settings: StudySettings, on_progress: Callable[[optuna.Study], None] | None = None) -> OpenStudy:
    """Run trials until the study has `settings.trials` finished ones (or the timeout).

    This process is worker 0; workers 1..K-1 are spawned processes on the same storage. After a
    Ctrl-C (SIGINT) every worker finishes or fails its running trial (see Interruption), then
    KeyboardInterrupt is raised here. A study whose trials keep failing (StopAtTarget gives up, or
    none finishes) is an OptimizeError with the last failure's reason: its space or strategy needs fixing.
    """
    opened = open_study(settings)
    fail_stale_trials(opened.study, settings.heartbeat)
    remaining = max(0, settings.trials - finished(opened.study))
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(settings.workers, remaining))
    helpers = [context.Process(target=_worker, args=(settings, worker, processes)) for worker in range(1, processes)]
    report = (lambda study, _trial: on_progress(study)) if on_progress else None
    previous_handler = signal.signal(signal.SIGINT, _interrupt_once)
    stop = None
    try:
        for helper in helpers:
            helper.start()
        if remaining > 0:
            with sharing_cores(processes):
                stop = _optimize(opened, settings, [report] if report else [])
        while any(helper.is_alive() for helper in helpers):
            if on_progress:
                on_progress(opened.study)
            time.sleep(0.5)
    except KeyboardInterrupt:
        # A terminal's Ctrl-C reached the helpers too, `kill -INT` only this process: SIGTERM asks
        # them to stop either way, and is not a second Ctrl-C to a helper that had the first.
        for helper in helpers:
            if helper.is_alive():
                os.kill(helper.pid, signal.SIGTERM)
        raise
    finally:
        for helper in helpers:
            helper.join()
        signal.signal(signal.SIGINT, previous_handler)
    done = finished(opened.study)
    if stop is not None and done < settings.trials and (stop.gave_up or done == 0):
        raise OptimizeError(_failing(opened.study, stop, done, settings.trials))
    return opened


def _failing(study: optuna.Study, stop: StopAtTarget, done: int, target: int) -> str:
    failures = failed(study)
    last = failures[-1].user_attrs.get("error", "its worker stopped") if failures else "none failed"
    why = f"{stop.failures} trials in a row failed" if stop.gave_up else "no trial finished"
    return f"study {study.study_name}: {why}, {done} of {target} finished; the last: {last}"
