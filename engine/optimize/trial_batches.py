"""Finished trials written to a study's RDB storage (SQLite, PostgreSQL) in one transaction.

Optuna records a trial in about twenty transactions as it runs; a generation of trials evaluated
against an in-memory copy of the study (engine.optimize.generations) is written here at once:
every trial with its parameters, values, attributes and constraints, or none of them, whatever
kills the worker meanwhile. The study's row is locked first, as Optuna locks it to number a new
trial, so workers writing at once take turns; and the count of the study's finished and running
trials is read inside the same transaction, so together they never pass the study's target.

Optuna has no public call for this (`Study.add_trials` takes a transaction and some twenty
statements per trial): the rows are Optuna's own models, in its own representations, written with
one insert of many rows per table.
"""

from __future__ import annotations

import json

import optuna
import sqlalchemy
from optuna.distributions import distribution_to_json
from optuna.storages import RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)  # what a study's target counts


def _rdb(study: optuna.Study) -> RDBStorage:
    storage = study._storage
    return storage._backend if isinstance(storage, _CachedStorage) else storage


def write_trials(study: optuna.Study, trials: list[FrozenTrial], target: int) -> list[int]:
    """Add `trials` (finished) to the study in one transaction, in order, stopping before a
    finished one that would take the study past `target` finished and running trials (failed ones
    do not count, as they do not toward a study's target). Returns the storage's ids of the trials
    written, the first ones of `trials`."""
    if not trials:
        return []
    storage, study_id = _rdb(study), study._study_id
    session = storage.scoped_session()
    try:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        first = _trial_row(study_id, trials[0])
        session.add(first)
        session.flush()  # the first write: SQLite now holds its write lock, and reads what others committed
        others = _counted(session, study_id) - (trials[0].state in COUNTED)
        kept = _fitting(trials, target - others)
        if kept == 0:
            session.rollback()
            return []
        first.number = session.query(models.TrialModel).filter(models.TrialModel.study_id == study_id).count() - 1
        rows = [first, *(_trial_row(study_id, trial, first.number + offset) for offset, trial in enumerate(trials[1:kept], 1))]
        session.add_all(rows[1:])
        session.flush()
        _insert_details(session, [row.trial_id for row in rows], trials[: len(rows)])
        ids = [row.trial_id for row in rows]
        session.commit()
        return ids
    except sqlalchemy.exc.SQLAlchemyError as error:
        session.rollback()
        raise optuna.exceptions.StorageInternalError(f"writing a generation of trials failed: {error}") from error
    finally:
        session.close()


def _fitting(trials: list[FrozenTrial], room: int) -> int:
    """How many of `trials`, from the first, fit in `room`: finished ones up to it, failed ones between them."""
    count = 0
    for trial in trials:
        if trial.state in COUNTED:
            if room < 1:
                break
            room -= 1
        count += 1
    return count


def _trial_row(study_id: int, trial: FrozenTrial, number: int | None = None) -> models.TrialModel:
    return models.TrialModel(
        study_id=study_id,
        number=number,
        state=trial.state,
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
    )


def _counted(session, study_id: int, states: tuple[TrialState, ...] = COUNTED) -> int:
    query = session.query(models.TrialModel).filter(models.TrialModel.study_id == study_id, models.TrialModel.state.in_(states))
    return query.count()


def count_trials(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    """How many of the study's trials are in `states`, counted by the database (no trial is read)."""
    session = _rdb(study).scoped_session()
    try:
        return _counted(session, study._study_id, states)
    finally:
        session.close()


def _attribute_rows(trial_id: int, attributes: dict) -> list[dict]:
    return [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attributes.items()]


def _insert_details(session, ids: list[int], trials: list[FrozenTrial]) -> None:
    """Each trial's values, parameters, attributes and intermediate values, one insert per table."""
    values, params, user, system, intermediate = [], [], [], [], []
    for trial_id, trial in zip(ids, trials, strict=True):
        for objective, value in enumerate(trial.values or ()):
            stored, kind = models.TrialValueModel.value_to_stored_repr(value)
            values.append({"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind})
        for name, value in trial.params.items():
            distribution = trial.distributions[name]
            params.append(
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": distribution.to_internal_repr(value),
                    "distribution_json": distribution_to_json(distribution),
                }
            )
        user += _attribute_rows(trial_id, trial.user_attrs)
        system += _attribute_rows(trial_id, trial.system_attrs)
        for step, value in trial.intermediate_values.items():
            stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
            intermediate.append(
                {"trial_id": trial_id, "step": step, "intermediate_value": stored, "intermediate_value_type": kind}
            )
    tables = (
        (models.TrialValueModel, values),
        (models.TrialParamModel, params),
        (models.TrialUserAttributeModel, user),
        (models.TrialSystemAttributeModel, system),
        (models.TrialIntermediateValueModel, intermediate),
    )
    for model, rows in tables:
        if rows:
            session.execute(sqlalchemy.insert(model), rows)
