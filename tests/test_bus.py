"""The bus dispatches synchronously and deterministically; events cannot be changed in flight."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.kernel.bus import EventBus
from engine.kernel.events import BarChunk, TargetChunk
from tests.helpers import make_bars, run_stages


def test_handlers_run_in_subscription_order_depth_first():
    bus, seen = EventBus(), []
    bus.subscribe("a", lambda event: (seen.append(("first", event)), bus.publish("b", event + 1)))
    bus.subscribe("a", lambda event: seen.append(("second", event)))
    bus.subscribe("b", lambda event: seen.append(("b", event)))
    bus.publish("a", 1)
    assert seen == [("first", 1), ("b", 2), ("second", 1)]


def test_events_and_their_arrays_are_immutable():
    bars = make_bars(opens=[[1, 2], [3, 4]], closes=[[1, 2], [3, 4]])
    chunk = TargetChunk("stage", bars, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="read-only"):
        chunk.weights[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        bars.close[0, 0] = 9.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        BarChunk(bars).bars = bars  # type: ignore[misc]


def test_a_stage_returning_the_wrong_shape_is_named():
    bars = make_bars(opens=[[1, 2], [3, 4]], closes=[[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"stage 'bad' returned weights of shape \(2,\), expected \(2, 2\)"):
        TargetChunk("bad", bars, np.zeros(2))


def test_chunks_cover_every_bar_once():
    bars = make_bars(opens=np.arange(1, 11), closes=np.arange(1, 11))
    for size in (1, 3, 7, 10, None):
        parts = list(bars.chunks(size))
        assert np.array_equal(np.concatenate([part.close for part in parts]), bars.close)


def test_a_stage_returning_nan_is_named():
    from engine.execution.conventions import ExecutionRules
    from engine.kernel.stage import StageError

    class Broken:
        name = "broken"

        def on_chunk(self, bars, weights=None, signal=None):
            return np.full(bars.shape, np.nan)

    bars = make_bars(opens=[1, 2, 3], closes=[1, 2, 3])
    with pytest.raises(StageError, match="stage broken: returned NaN"):
        run_stages([Broken()], bars, ExecutionRules(0.0, 0.0, 1000.0))
