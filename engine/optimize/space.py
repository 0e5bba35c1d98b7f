"""The search space of a study: which strategy settings a trial changes, and how it changes them.

Parameters are named by their path in the strategy file:

    signal.lookback, signal.features               the model's inputs
    signal.hyperparameters.NAME                    a model hyperparameter
    signal.weights.MEMBER                          an ensemble member's weight (the trial's weights are
                                                   given numbers; a member not tuned keeps its number, or
                                                   1 where the strategy weighs by a rule)
    signal.members.MEMBER.include                  whether an ensemble member weighs (its choice)
    signal.weights                                 an ensemble's weighting ("equal", "validation_f1", …)
    overlays.KIND.FIELD                            a field of the (one) overlay of that kind

An ensemble's weights and members' choice change no member's training: every trial reuses the
members' folds from the model store.

The model plugin's own declared space (`Model.search_space`) joins in unless `model_space = false`;
a path listed explicitly takes precedence over the plugin's range for it.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from engine import resources
from engine.optimize.errors import SearchSpaceError
from engine.plugins.registry import PluginRegistry, registry_of
from engine.strategies.lookup import find_file, names_in
from engine.strategies.resolution import ResolvedStrategy, resolve_strategy
from engine.strategies.schema import (
    EnsembleSignal,
    ModelSignal,
    OptimizeSpec,
    ParameterRange,
    Strategy,
    StrategyError,
    parse_strategy,
)
from engine.strategies.toml_files import read_toml
from engine.workspace import Workspace

HYPERPARAMETERS = "signal.hyperparameters."
# A tuned threshold replaces the overlay's own calibration: the study searches entry and exit itself.
CALIBRATED_BY_STUDY = {"overlays.threshold.entry", "overlays.threshold.exit"}


def find_space_file(name_or_path: str, workspace: Workspace) -> Path:
    """A search-space file by engine.strategies.lookup's rule: `configs/search/NAME.toml` in the workspace,
    then among the built-ins, or a path."""
    path = find_file(name_or_path, resources.SEARCH_SPACES, workspace)
    if path is None:
        known = ", ".join(names_in(resources.SEARCH_SPACES, workspace)) or "none"
        raise SearchSpaceError(f"--space {name_or_path}: no such search-space file or name (known names: {known})")
    return path.resolve()


def read_space_file(path: Path) -> OptimizeSpec:
    """A search-space file: the keys of a strategy's [optimize] table."""
    raw = read_toml(path, SearchSpaceError)
    try:
        return OptimizeSpec.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}" for issue in error.errors())
        raise SearchSpaceError(f"{path}: {problems}") from None


def _overlay(raw: dict, path: str, kind: str, source: str = "search space") -> dict:
    matches = [overlay for overlay in raw["overlays"] if overlay.get("kind") == kind]
    if len(matches) != 1:
        found = "no" if not matches else f"{len(matches)}"
        raise SearchSpaceError(f"{source}: {path}: the strategy has {found} {kind!r} overlays (needs exactly one)")
    return matches[0]


def check_setting(strategy: Strategy, path: str, source: str, plugins: PluginRegistry) -> TypeAdapter | None:
    """That `path` names a setting this strategy has; returns what validates a value of it (from its
    field's type, or a hyperparameter's default's), None where nothing is declared."""
    section, *rest = path.split(".")
    if section == "signal" and _ensemble_path(strategy, rest):
        return _ensemble_setting(strategy, path, source)
    if section == "overlays" and len(rest) == 2:
        kind, field = rest
        _overlay(strategy.model_dump(), path, kind, source)
        known = plugins.get("overlay", kind).config.model_fields
    elif section == "signal" and rest[:1] == ["hyperparameters"] and len(rest) == 2:
        if not isinstance(strategy.signal, ModelSignal):
            raise SearchSpaceError(f"{source}: {path}: strategy {strategy.name} has no model")
        field, known = rest[1], plugins.get("model", strategy.signal.plugin).default_hyperparameters
    elif section == "signal" and len(rest) in (1, 2):
        model = type(strategy.signal)
        if len(rest) == 2:
            nested = model.model_fields.get(rest[0])
            model = nested.annotation if nested is not None and isinstance(nested.annotation, type) else None
            if model is None or not hasattr(model, "model_fields"):
                raise SearchSpaceError(f"{source}: unknown parameter {path!r} (signal has no {rest[0]!r} table)")
        field, known = rest[-1], model.model_fields
    else:
        raise SearchSpaceError(
            f"{source}: unknown parameter {path!r}; tune signal.FIELD, signal.hyperparameters.NAME or overlays.KIND.FIELD"
        )
    if field not in known or field == "kind":
        known_there = ", ".join(sorted(set(known) - {"kind"}))
        raise SearchSpaceError(f"{source}: unknown parameter {path!r}; known there: {known_there}")
    declared = known[field]
    if isinstance(declared, FieldInfo):
        return TypeAdapter(Annotated[declared.annotation, declared])
    return None if declared is None else TypeAdapter(type(declared))  # a hyperparameter: its default's type


def _ensemble_path(strategy: Strategy, rest: list[str]) -> bool:
    """Whether `signal.REST` is an ensemble member's weight or choice (`signal.weights` alone, the
    weighting rule or numbers, is a field like any other)."""
    return isinstance(strategy.signal, EnsembleSignal) and rest[:1] in (["members"], ["weights"]) and rest != ["weights"]


def _ensemble_setting(strategy: Strategy, path: str, source: str) -> TypeAdapter:
    """What validates an ensemble member's weight (`signal.weights.MEMBER`) or choice
    (`signal.members.MEMBER.include`)."""
    _, table, *rest = path.split(".")
    shape = "signal.weights.MEMBER" if table == "weights" else "signal.members.MEMBER.include"
    if len(rest) != (1 if table == "weights" else 2) or (table == "members" and rest[1] != "include"):
        raise SearchSpaceError(
            f"{source}: unknown parameter {path!r}; an ensemble tunes {shape} (its members' folds stay as trained)"
        )
    names = [member.label for member in strategy.signal.members]
    if rest[0] not in names:
        raise SearchSpaceError(
            f"{source}: {path}: strategy {strategy.name} has no member {rest[0]!r} (members: {', '.join(names)})"
        )
    return TypeAdapter(Annotated[float, Field(ge=0)]) if table == "weights" else TypeAdapter(bool)


def _set_ensemble(signal: dict, names: list[str], parameters: dict[str, Any]) -> None:
    """The ensemble's tuned weights and members' choice set in its dumped `signal` (members `names`)."""
    members = dict(zip(names, signal["members"], strict=True))
    weights = {path.split(".")[2]: value for path, value in parameters.items() if path.startswith("signal.weights.")}
    if weights:
        given = signal["weights"] if isinstance(signal["weights"], list) else [1.0] * len(members)
        signal["weights"] = [float(weights.get(name, number)) for name, number in zip(members, given, strict=True)]
    for path, value in parameters.items():
        if path.startswith("signal.members."):
            members[path.split(".")[2]]["include"] = value


def check_range(where: str, bounds: ParameterRange, setting: TypeAdapter | None) -> None:
    """That every value Optuna may suggest from `bounds` suits the setting, checked at the ends of a
    range (ints, or floats) and at each choice: a space most of whose trials would fail is refused
    before the first."""
    if setting is None:
        return
    if bounds.choices is not None:
        for choice in bounds.choices:  # set as a strategy file's value would be
            if problem := _invalid(setting, choice, strict=False):
                raise SearchSpaceError(f"{where}: choice {choice!r} is not valid: {problem}")
        return
    if not bounds.is_int and _invalid(setting, float(bounds.low)) and not _invalid(setting, round(bounds.low)):
        raise SearchSpaceError(f"{where} takes whole numbers: give low, high and step as integers (got {_range_text(bounds)})")
    for end in ("low", "high"):
        value = getattr(bounds, end) if bounds.is_int else float(getattr(bounds, end))
        if problem := _invalid(setting, value):
            raise SearchSpaceError(f"{where}: {end} {value!r} is not valid: {problem}")


def _invalid(setting: TypeAdapter, value: Any, strict: bool = True) -> str | None:
    """Why `value` does not suit the setting; strict: as Optuna suggests it (a float is no integer)."""
    try:
        setting.validate_python(value, strict=strict)
    except ValidationError as error:
        return error.errors()[0]["msg"]
    return None


def apply_parameters(strategy: Strategy, parameters: dict[str, Any], workspace: Workspace | None = None) -> Strategy:
    """The strategy with each parameter set at its path, validated like a strategy file and against
    the plugins of `workspace`."""
    return resolve_parameters(strategy, parameters, workspace).strategy


def resolve_parameters(strategy: Strategy, parameters: dict[str, Any], workspace: Workspace | None = None) -> ResolvedStrategy:
    """`apply_parameters`, with the strategy resolved against the plugins as its check did."""
    raw = strategy.model_dump()
    for path, value in parameters.items():
        section, *rest = path.split(".")
        if section == "signal" and _ensemble_path(strategy, rest):
            continue  # set together below: the weights are one list
        if section == "overlays":
            _set_overlay_setting(_overlay(raw, path, rest[0]), path, value)
        else:
            target = raw["signal"]
            for key in rest[:-1]:
                target = target.setdefault(key, {})
            target[rest[-1]] = deepcopy(value)
    if isinstance(strategy.signal, EnsembleSignal):
        _set_ensemble(raw["signal"], [member.label for member in strategy.signal.members], parameters)
    try:
        tuned = parse_strategy(raw, f"strategy {strategy.name}")
        return resolve_strategy(tuned, workspace=workspace)  # an overlay's settings are checked against its plugin
    except StrategyError as error:
        raise SearchSpaceError(f"these parameters make an invalid strategy: {error}") from None


def resolve_overlay_parameters(resolved: ResolvedStrategy, parameters: dict[str, Any]) -> ResolvedStrategy:
    """`resolve_parameters` for parameters that all set overlays (an overlay-only space's): each changed
    overlay validated against its plugin as a strategy file's is, the signal and its resolved model kept."""
    overlays, changed = resolved.strategy.overlays, {}
    for path, value in parameters.items():
        found = _overlay({"overlays": overlays}, path, path.split(".")[1])
        position = next(position for position, table in enumerate(overlays) if table is found)
        _set_overlay_setting(changed.setdefault(position, dict(found)), path, value)  # its own keys: no nested value changes
    try:
        return resolved.with_overlays(changed)
    except StrategyError as error:
        raise SearchSpaceError(f"these parameters make an invalid strategy: {error}") from None


def _set_overlay_setting(overlay: dict, path: str, value: Any) -> None:
    overlay[path.split(".")[2]] = deepcopy(value)
    if path in CALIBRATED_BY_STUDY:  # the study tunes what the calibration would pick
        overlay.pop("calibrate", None)


class _Prefixed:
    """A trial seen by a model plugin's `search_space`: its names get the hyperparameter prefix, and
    a name the study's explicit space already tunes returns that value."""

    def __init__(self, trial, chosen: dict[str, Any]) -> None:
        self._trial, self._chosen = trial, chosen

    def __getattr__(self, name: str):
        suggest = getattr(self._trial, name)
        if not name.startswith("suggest_"):
            return suggest

        def prefixed(parameter: str, *args, **kwargs):
            path = HYPERPARAMETERS + parameter
            return self._chosen[path] if path in self._chosen else suggest(path, *args, **kwargs)

        return prefixed


@dataclass(frozen=True)
class SearchSpace:
    ranges: dict[str, ParameterRange]
    model_space: bool

    @classmethod
    def of(
        cls,
        strategy: Strategy,
        spec: OptimizeSpec | None = None,
        space_file: str | None = None,
        plugins: PluginRegistry | None = None,
    ) -> SearchSpace:
        """The space of `spec` read from `space_file` (default: the strategy's [optimize] table),
        checked against the strategy and `plugins` (default: the built-in and installed ones); an
        error names where the space was read and the parameter."""
        plugins = plugins or registry_of()
        spec = spec or strategy.optimize
        source, table = (space_file, "[space]") if space_file else (f"strategy {strategy.name}", "[optimize.space]")
        space = cls(dict(spec.space), spec.model_space and isinstance(strategy.signal, ModelSignal))
        if not space.ranges and not space.model_space:
            raise SearchSpaceError(f"{source}: the search space is empty; give parameter ranges in a {table} table")
        for path, bounds in space.ranges.items():
            check_range(f"{source}: {path}", bounds, check_setting(strategy, path, source, plugins))
        if "signal.weights" in space.ranges and any(path.startswith("signal.weights.") for path in space.ranges):
            raise SearchSpaceError(f"{source}: tune signal.weights (the weighting) or signal.weights.MEMBER (numbers), not both")
        return space

    @property
    def only_overlays(self) -> bool:
        """Whether every trial keeps the model and its inputs as the strategy has them, so that it
        replays one model's predictions and changes only what comes after them."""
        return not self.model_space and all(path.startswith("overlays.") for path in self.ranges)

    def suggest(self, trial, strategy: Strategy, plugins: PluginRegistry) -> dict[str, Any]:
        """A trial's parameters: the explicit ranges, then the model plugin's declared space."""
        chosen = {path: _suggest(trial, path, bounds) for path, bounds in self.ranges.items()}
        if self.model_space:
            model = plugins.get("model", strategy.signal.plugin)
            declared = model.search_space(_Prefixed(trial, chosen))
            chosen |= {HYPERPARAMETERS + name: value for name, value in declared.items()}
        return chosen

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> SearchSpace:
        ranges = {path: ParameterRange.model_validate(bounds) for path, bounds in description["ranges"].items()}
        return cls(ranges, description["model_space"])

    def describe(self) -> dict[str, Any]:
        return {
            "ranges": {path: bounds.model_dump(exclude_none=True) for path, bounds in self.ranges.items()},
            "model_space": self.model_space,
        }

    def __str__(self) -> str:
        """One line: each path with its range, and whether the model plugin's declared space joins in."""
        parts = [f"{path} {_range_text(bounds)}" for path, bounds in self.ranges.items()]
        return "{" + "; ".join([*parts, *(["the model's declared space"] if self.model_space else [])]) + "}"


def _range_text(bounds: ParameterRange) -> str:
    if bounds.choices is not None:
        return f"in {bounds.choices}"
    step = f" step {bounds.step}" if bounds.step is not None else ""
    return f"{bounds.low}..{bounds.high}{step}" + (" log" if bounds.log else "")


def _suggest(trial, path: str, bounds: ParameterRange) -> Any:
    if bounds.choices is not None:
        # Optuna stores categorical choices as None/bool/int/float/str; lists (feature sets) go by index.
        if all(choice is None or isinstance(choice, bool | int | float | str) for choice in bounds.choices):
            return trial.suggest_categorical(path, bounds.choices)
        return bounds.choices[trial.suggest_categorical(path, list(range(len(bounds.choices))))]
    if bounds.is_int:
        return trial.suggest_int(path, bounds.low, bounds.high, step=int(bounds.step or 1), log=bounds.log)
    return trial.suggest_float(path, float(bounds.low), float(bounds.high), step=bounds.step, log=bounds.log)
