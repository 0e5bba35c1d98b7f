"""GRU inference throughput (lookback 24, 23 features, hidden 64): the gru plugin's batched
predict (embedding, GRU, attention, head) against a bare torch GRU and linear head on the same
sequences, in the same run."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import best_time
from engine.models.training import INFERENCE_BATCH, choose_device
from engine.plugins.registry import registry_of

SEQUENCES, LOOKBACK, FEATURES, HIDDEN = 65_536, 24, 23, 64
GOAL_SEQUENCES_PER_SECOND = 30_000


def measure() -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SEQUENCES, LOOKBACK, FEATURES)).astype(np.float32)
    assets = rng.integers(0, 2, SEQUENCES)
    model = registry_of().get("model", "gru")(FEATURES, 2, LOOKBACK, {"hidden": HIDDEN})
    ours = best_time(lambda: model.predict(x, assets), repeats=3)

    bare_gru, head = torch.nn.GRU(FEATURES, HIDDEN, batch_first=True), torch.nn.Linear(HIDDEN, 1)
    tensor = torch.from_numpy(x)

    def bare():
        with torch.inference_mode():
            for start in range(0, SEQUENCES, INFERENCE_BATCH):
                states, _ = bare_gru(tensor[start : start + INFERENCE_BATCH])
                torch.sigmoid(head(states[:, -1]))

    peer = best_time(bare, repeats=3)
    return {
        "device": str(choose_device()),
        "torch_threads": torch.get_num_threads(),
        "sequences": SEQUENCES,
        "ours_sequences_per_second": SEQUENCES / ours,
        "bare_torch_gru_sequences_per_second": SEQUENCES / peer,
        "ratio_ours_over_bare": ours / peer,
        "goal_sequences_per_second_at_least": GOAL_SEQUENCES_PER_SECOND,
        "meets_goal": SEQUENCES / ours >= GOAL_SEQUENCES_PER_SECOND,
    }
