"""Rule-based signal stages and the factory that builds one from a strategy's signal spec."""

from __future__ import annotations

from engine.kernel.stage import Stage
from engine.signals.buy_and_hold import BuyAndHold
from engine.signals.momentum import Momentum
from engine.signals.sma_cross import SmaCross
from engine.strategies.schema import BuyAndHoldSignal, MomentumSignal, SmaCrossSignal


def build_signal(spec) -> Stage:
    if isinstance(spec, SmaCrossSignal):
        return SmaCross(spec.fast, spec.slow)
    if isinstance(spec, BuyAndHoldSignal):
        return BuyAndHold()
    if isinstance(spec, MomentumSignal):
        return Momentum(spec.window)
    raise TypeError(f"no signal stage for {type(spec).__name__}")


__all__ = ["BuyAndHold", "Momentum", "SmaCross", "build_signal"]
