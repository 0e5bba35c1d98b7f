"""Overlay-only trials in generations: sampled and evaluated against an in-memory copy of the study,
each generation then written to the study's storage in one transaction (engine.optimize.trial_batches).

A trial recorded as it runs costs Optuna about twenty transactions and several reads of every
trial; an overlay-only trial's backtest costs less than that. So a worker copies the study's
finished trials into memory, runs a generation there with the study's own sampler (its trials
asked and told one after another, as `Study.optimize` would), and writes the generation's finished
trials at once. The storage never holds a half-written generation or a running trial of one: a
worker killed mid-generation leaves no trace of it, and a resumed study counts only what was
written. Before each generation the copy takes in what other workers wrote, so they share one
search, and together they never pass the study's target.

A first Ctrl-C (or SIGTERM) lets the running trial finish, writes the generation so far and stops;
a second abandons the generation unwritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import optuna
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from engine.optimize.trial_batches import COUNTED, count_trials, write_trials

GENERATION_TRIALS = 50  # NSGA-II's default population: one transaction per generation of it
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class Target(Protocol):
    """engine.optimize.study.StopAtTarget: the study's target, and failures in a row (too many: it gave up)."""

    target: int
    gave_up: bool

    def note(self, trial: FrozenTrial) -> None: ...


class Generations:
    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.copy = optuna.create_study(
            storage=InMemoryStorage(), sampler=study.sampler, pruner=study.pruner, directions=study.directions
        )
        self._copied: set[int] = set()  # storage ids of the study's trials already in the copy

    def _take_in(self) -> None:
        """The study's finished trials not yet in the copy (other workers', or all of them at first);
        counted first, so that a worker alone on its study reads no trial back."""
        if count_trials(self.study, FINISHED) == len(self._copied):
            return
        new = [trial for trial in self.study.get_trials(deepcopy=False, states=FINISHED) if trial._trial_id not in self._copied]
        self.copy.add_trials(new)
        self._copied.update(trial._trial_id for trial in new)

    def run(
        self,
        objective: Callable[[optuna.Trial], tuple[float, ...]],
        stop: Target,
        stopping: Callable[[], bool],
        timeout: float | None,
        catch: tuple[type[Exception], ...],
        callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    ) -> None:
        """Generations until the study's target, `timeout` seconds, `stop` giving up or `stopping()`
        (a Ctrl-C). `callbacks` hear the study after each generation is written."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop.gave_up and not stopping():
            self._take_in()
            left = None if deadline is None else deadline - time.monotonic()
            room = stop.target - count_trials(self.study, COUNTED)
            if room <= 0 or (left is not None and left <= 0):
                return
            first = len(self.copy.get_trials(deepcopy=False))
            self._generation(objective, stop, stopping, min(GENERATION_TRIALS, room), deadline, catch)
            generation = [trial for trial in self.copy.get_trials(deepcopy=False)[first:] if trial.state in FINISHED]
            self._copied.update(write_trials(self.study, generation, stop.target))
            for callback in callbacks if generation else ():
                callback(self.study, generation[-1])

    def _generation(
        self,
        objective: Callable[[optuna.Trial], tuple[float, ...]],
        stop: Target,
        stopping: Callable[[], bool],
        trials: int,
        deadline: float | None,
        catch: tuple[type[Exception], ...],
    ) -> None:
        """Up to `trials` trials in the copy, one after another as `Study.optimize` runs them, each
        noted by `stop`; the generation ends early where too many failed in a row, `stopping()` (a
        Ctrl-C came) or the deadline passed. One `optimize` call per trial and no callbacks: Optuna
        deep-copies every trial it hands to a callback, which cost a tenth of a trial."""
        for _ in range(trials):
            if deadline is not None and time.monotonic() >= deadline:
                return
            self.copy.optimize(objective, n_trials=1, catch=catch, gc_after_trial=False)
            stop.note(self.copy.get_trials(deepcopy=False)[-1])
            if stop.gave_up or stopping():
                return
