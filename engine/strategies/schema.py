"""The strategy schema: typed, validated configuration.

A strategy names its data, its signal (a rule or a model plugin), its overlay chain, its costs
and its execution options. Unknown keys, wrong types and impossible values are rejected with
the source and the field named. Finding strategy files is `engine.strategies.files`; checking a
strategy against the plugins it names is `engine.strategies.resolution`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.data.store import DataStoreError, check_timeframe, normalize_symbol
from engine.errors import UserError


class StrategyError(UserError, ValueError):
    """A strategy file is missing, unreadable or invalid; the message names the file and field."""


# Names become parts of paths (runs/ID, strategies/NAME.toml, study names): nothing that could climb out.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
NAME_RULE = "letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"


def check_name(name: str) -> str:
    """A strategy's name, or ValueError saying what a name may be."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid name: use {NAME_RULE}")
    return name


class _Strict(BaseModel):
    # TOML has inf and nan; no setting means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataSpec(_Strict):
    symbols: list[str] = Field(min_length=1)
    timeframe: str = "1d"
    start: date | None = None
    end: date | None = None

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        try:
            normalized = [normalize_symbol(symbol) for symbol in symbols]
        except DataStoreError as error:
            raise ValueError(str(error)) from None
        if len(set(normalized)) != len(normalized):
            raise ValueError("symbols must be unique")
        return normalized

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, timeframe: str) -> str:
        try:
            return check_timeframe(timeframe)
        except DataStoreError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _period(self) -> DataSpec:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class CostSpec(_Strict):
    """Per side: commission as a rate of traded notional, slippage as a fraction of the open."""

    commission_bps: float = Field(default=10.0, ge=0, le=1000)
    slippage_bps: float = Field(default=5.0, ge=0, le=1000)
    min_commission: float = Field(default=0.0, ge=0, description="per order, in account currency")

    @property
    def commission(self) -> float:
        return self.commission_bps / 1e4

    @property
    def slippage(self) -> float:
        return self.slippage_bps / 1e4


# Beyond this, positions times prices leave the range where a float still counts cents.
MAX_CASH = 1e15
SECONDS_PER_YEAR = 366 * 24 * 3600  # the most bars a year can hold: one a second


class ExecutionSpec(_Strict):
    initial_cash: float = Field(default=100_000.0, gt=0, le=MAX_CASH)
    fractional_shares: bool = True
    allow_short: bool = False
    periods_per_year: float | None = Field(default=None, gt=0, le=SECONDS_PER_YEAR)
    # "open": weights of equity at the open they fill at; "close": turned into shares at the close
    # they were decided on, as a live broker sizes them (engine.execution.conventions).
    size_at: Literal["open", "close"] = "open"


class RiskSpec(_Strict):
    """The risk gate's limits, in every mode (engine.kernel.risk says what each does)."""

    daily_loss: float | None = Field(default=None, gt=0, lt=1)  # a fraction of the day's opening equity
    order_notional: float | None = Field(default=None, gt=0)  # in account currency
    orders_per_minute: int | None = Field(default=None, ge=1)
    difference: float = Field(default=0.01, gt=0)  # a fraction of equity
    position_cap: float | None = Field(default=None, gt=0)  # a fraction of equity per symbol
    gross_exposure: float | None = Field(default=None, gt=0)  # a fraction of equity, all symbols

    @property
    def watches_bars(self) -> bool:
        """Whether a limit needs the account at every close: all but the reconciliation difference,
        which acts on the ledger's findings whenever they come."""
        return any(value is not None for name, value in self if name != "difference")

    def describe(self) -> dict[str, float | int]:
        """The limits that are set, by name."""
        return {name: value for name, value in self if value is not None}


class SmaCrossSignal(_Strict):
    """Long (equal weight across symbols) while the fast SMA of the close is above the slow one."""

    kind: Literal["sma_cross"]
    fast: int = Field(ge=1)
    slow: int = Field(ge=2)

    @model_validator(mode="after")
    def _windows(self) -> SmaCrossSignal:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class BuyAndHoldSignal(_Strict):
    """Equal weight in every symbol from the first bar on."""

    kind: Literal["buy_and_hold"]


class MomentumSignal(_Strict):
    """A score per symbol, not a weight: the close's return over the last `window` bars (0 until
    a full window exists). An overlay that turns scores into positions (`top_k`, `threshold`)
    must come first in the chain."""

    kind: Literal["momentum"]
    window: int = Field(ge=1)


class LabelSpec(_Strict):
    """Binary label: 1 when the return over the next `horizon` bars exceeds `threshold`."""

    horizon: int = Field(default=5, ge=1)
    threshold: float = 0.0


class WalkForwardSpec(_Strict):
    """Train on `train_bars`, skip `purge_bars` (at least the label horizon), predict the next
    `predict_bars` out of sample, roll forward. `expanding` keeps every earlier bar in training."""

    train_bars: int = Field(default=1000, ge=50)
    predict_bars: int = Field(default=250, ge=1)
    purge_bars: int | None = Field(default=None, ge=0)
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=0.5)
    expanding: bool = False


class ModelSignal(_Strict):
    """A model plugin's probability that the label is 1, trained walk-forward: per fold, one model over
    every symbol (`scope = "combined"`, the symbol an input of it), or one per symbol trained on that
    symbol's bars alone (`"individual"`, engine.models.individual)."""

    kind: Literal["model"]
    plugin: str
    scope: Literal["combined", "individual"] = "combined"
    lookback: int | None = Field(default=None, ge=1)
    features: list[str] | None = None
    # Settings of configurable feature providers, by name (`[signal.feature_settings.sentiment]`);
    # each provider validates its own.
    feature_settings: dict[str, dict[str, Any]] = {}
    hyperparameters: dict[str, float | int | str | bool] = {}
    labels: LabelSpec = LabelSpec()
    walk_forward: WalkForwardSpec = WalkForwardSpec()
    seed: int = 0

    @model_validator(mode="after")
    def _purge(self) -> ModelSignal:
        _check_purge(self.labels, self.walk_forward)
        return self

    @property
    def purge_bars(self) -> int:
        return _purge_bars(self.labels, self.walk_forward)


def _check_purge(labels: LabelSpec, walk_forward: WalkForwardSpec) -> None:
    purge = walk_forward.purge_bars
    if purge is not None and purge < labels.horizon:
        raise ValueError(f"walk_forward.purge_bars ({purge}) must be at least labels.horizon ({labels.horizon})")


def _purge_bars(labels: LabelSpec, walk_forward: WalkForwardSpec) -> int:
    """The bars skipped between a fold's training and its block: at least the label horizon."""
    return labels.horizon if walk_forward.purge_bars is None else walk_forward.purge_bars


class EnsembleMember(_Strict):
    """One model of an ensemble: a model strategy's (`strategy`: its plugin, lookback, features and
    hyperparameters), or one given here. Labels and walk-forward are the ensemble's."""

    name: str | None = None  # how reports call it (default: the strategy's name, or the plugin's)
    strategy: str | None = None
    plugin: str | None = None
    lookback: int | None = Field(default=None, ge=1)
    features: list[str] | None = None
    feature_settings: dict[str, dict[str, Any]] = {}
    hyperparameters: dict[str, float | int | str | bool] = {}
    seed: int = 0
    include: bool = True  # false: in the fold plan and trained, but weighed 0 (the optimizer's choice of members)

    @model_validator(mode="after")
    def _one_source(self) -> EnsembleMember:
        if (self.strategy is None) == (self.plugin is None):
            raise ValueError("give a member either strategy = NAME or plugin = NAME")
        # Fields at their defaults are no setting of their own: a dumped member (a study's trial) reads back.
        model_fields = type(self).model_fields
        inline = {
            name
            for name in self.model_fields_set - {"name", "strategy", "include"}
            if getattr(self, name) != model_fields[name].default
        }
        if self.strategy is not None and inline:
            raise ValueError(f"a member taken from strategy {self.strategy!r} cannot also set {', '.join(sorted(inline))}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.strategy or self.plugin


class EnsembleSignal(_Strict):
    """Several models' probabilities, each trained walk-forward on the same folds, averaged per fold
    with weights `equal`, `validation_f1` or `validation_sharpe` (each member's on the fold's
    validation window, before the fold predicts), or given numbers (one per member)."""

    kind: Literal["ensemble"]
    members: list[EnsembleMember] = Field(min_length=2)
    weights: Literal["equal", "validation_f1", "validation_sharpe"] | list[float] = "equal"
    labels: LabelSpec = LabelSpec()
    walk_forward: WalkForwardSpec = WalkForwardSpec()

    @model_validator(mode="after")
    def _consistent(self) -> EnsembleSignal:
        labels = [member.label for member in self.members]
        if len(set(labels)) < len(labels):
            raise ValueError(f"members are named {labels}: give each a different name")
        if isinstance(self.weights, list):
            if len(self.weights) != len(self.members):
                raise ValueError(f"weights: {len(self.weights)} numbers for {len(self.members)} members")
            if any(weight < 0 for weight in self.weights) or not sum(self.weights) > 0:
                raise ValueError("weights: give numbers of at least 0, not all 0")
            if not any(weight > 0 for weight, member in zip(self.weights, self.members, strict=True) if member.include):
                raise ValueError("weights: every included member's is 0")
        if not any(member.include for member in self.members):
            raise ValueError("members: every member has include = false; include one at least")
        _check_purge(self.labels, self.walk_forward)
        return self

    @property
    def purge_bars(self) -> int:
        return _purge_bars(self.labels, self.walk_forward)

    @property
    def plugin(self) -> str:
        return "ensemble"  # what names its stage and its progress, as a model's plugin does

    def member_signal(self, member: EnsembleMember, model: ModelSignal | None = None) -> ModelSignal:
        """The member as a model signal on the ensemble's labels and walk-forward (`model`: the signal of
        the strategy it names, which must train on those too)."""
        if model is not None and (model.labels, model.walk_forward) != (self.labels, self.walk_forward):
            raise ValueError(
                f"member {member.label}: strategy {member.strategy}'s labels and walk_forward differ from the ensemble's "
                "(its members share their folds)"
            )
        if model is not None and model.scope != "combined":
            raise ValueError(
                f"member {member.label}: strategy {member.strategy} trains a model per symbol (scope {model.scope!r}); "
                "an ensemble's members are combined models"
            )
        fields = ("plugin", "lookback", "features", "feature_settings", "hyperparameters", "seed")
        source = model if model is not None else member
        return ModelSignal(
            kind="model", labels=self.labels, walk_forward=self.walk_forward, **{name: getattr(source, name) for name in fields}
        )


SignalSpec = Annotated[
    SmaCrossSignal | BuyAndHoldSignal | MomentumSignal | ModelSignal | EnsembleSignal, Field(discriminator="kind")
]
LEARNED_SIGNALS = (ModelSignal, EnsembleSignal)  # signals whose output is a probability learned walk-forward


class ParameterRange(_Strict):
    """One tuned parameter: `choices`, or a range from `low` to `high` (integers when both are)."""

    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ParameterRange:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
            if not self.choices:
                raise ValueError("choices is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs low and high (or give choices)")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be positive (got {self.step})")
        if self.step is not None and self.log:
            raise ValueError("give step or log, not both (a log range cannot be stepped)")
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low})")
        return self

    @property
    def is_int(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float)


class OptimizeSpec(_Strict):
    """What `engine optimize` tunes and how it judges a trial (see docs/optimize.md)."""

    # Parameters by path: "signal.lookback", "signal.hyperparameters.hidden", "overlays.threshold.entry".
    space: dict[str, ParameterRange] = {}
    model_space: bool = True  # also tune the model plugin's declared search space
    holdout: float = Field(default=0.2, gt=0.0, lt=0.9)  # the last fraction of bars, unseen by every trial
    min_trades: int = Field(default=0, ge=0)  # constraint, reported per trial
    max_turnover: float | None = Field(default=None, gt=0.0)  # constraint, reported per trial


class Strategy(_Strict):
    name: Annotated[str, AfterValidator(check_name)]
    description: str = ""
    data: DataSpec
    signal: SignalSpec
    overlays: list[dict[str, Any]] = []
    costs: CostSpec = CostSpec()
    execution: ExecutionSpec = ExecutionSpec()
    risk: RiskSpec = RiskSpec()
    optimize: OptimizeSpec = OptimizeSpec()

    def with_overrides(self, **changes: dict) -> Strategy:
        """A copy with nested sections updated, validated like a file: {'data': {'symbols': [...]}}."""
        if not any(changes.values()):
            return self
        merged = self.model_dump()
        for section, values in changes.items():
            if values:
                merged[section] = {**merged[section], **values}
        return parse_strategy(merged, f"strategy {self.name} with overrides")


def parse_strategy(raw: dict, source: str) -> Strategy:
    try:
        strategy = Strategy.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}" for issue in error.errors()
        )
        raise StrategyError(f"{source}: {problems}") from None
    return strategy
