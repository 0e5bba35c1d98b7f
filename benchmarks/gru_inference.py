"""GRU inference throughput (lookback 24, 23 features, hidden 64): the gru plugin's batched
predict (asset embedding, GRU, attention, head) beside two peers on the same sequences, in the same
run: the same network written plainly in torch, with the plugin's weights (its predictions must
equal the plugin's to 1e-6), and a bare torch GRU with a linear head on the last state (no
embedding, no attention: a floor for any GRU of this size). The plugin predicts through its
inference form (engine.models.fused_gru); the peers run torch's own GRU. The three take turns, each
timed once a round, so that a load from elsewhere on the machine falls on all of them alike."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from engine.models.training import INFERENCE_BATCH, choose_device
from engine.plugins.registry import registry_of

SEQUENCES, LOOKBACK, FEATURES, HIDDEN, ASSETS = 65_536, 24, 23, 64, 2
GOAL = {"ours_over_plain_torch_same_network": 1.0, "ours_over_bare_torch_gru": 0.9}


class PlainNetwork(nn.Module):
    """The gru plugin's network as anyone would write it in torch: embedding, GRU, attention, head."""

    def __init__(self, embedding: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(ASSETS, embedding)
        self.gru = nn.GRU(FEATURES + embedding, HIDDEN, batch_first=True)
        self.score = nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1, bias=False))
        self.head = nn.Linear(2 * HIDDEN, 1)

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        steps = self.embedding(assets)[:, None, :].expand(-1, sequences.shape[1], -1)
        states, _ = self.gru(torch.cat([sequences, steps], dim=-1))
        pooled = (torch.softmax(self.score(states), dim=1) * states).sum(dim=1)
        return self.head(torch.cat([pooled, states[:, -1]], dim=-1)).squeeze(-1)


def _plain_copy(network: nn.Module) -> PlainNetwork:
    """A PlainNetwork holding `network`'s weights (the gru plugin's RecurrentClassifier)."""
    plain = PlainNetwork(network.embed.embedding.embedding_dim)
    plain.embedding.load_state_dict(network.embed.embedding.state_dict())
    plain.gru.load_state_dict(network.recurrent.state_dict())
    plain.score.load_state_dict(network.attention.score.state_dict())
    plain.head.load_state_dict(network.head[1].state_dict())
    return plain.eval()


def _batched(forward, x: torch.Tensor, assets: torch.Tensor) -> np.ndarray:
    """Probabilities in batches of the plugin's size, as plainly as torch allows."""
    out = []
    with torch.inference_mode():
        for start in range(0, SEQUENCES, INFERENCE_BATCH):
            stop = start + INFERENCE_BATCH
            out.append(torch.sigmoid(forward(x[start:stop], assets[start:stop])))
    return torch.cat(out).numpy()


def _best_times_taking_turns(runs: dict[str, Callable[[], object]], rounds: int = 4) -> dict[str, float]:
    """Each run's best wall time over `rounds` rounds of all of them in turn, after one warm-up each."""
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure() -> dict:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SEQUENCES, LOOKBACK, FEATURES)).astype(np.float32)
    assets = rng.integers(0, ASSETS, SEQUENCES)
    model = registry_of().get("model", "gru")(FEATURES, ASSETS, LOOKBACK, {"hidden": HIDDEN})
    model.network.eval()
    plain, tensor, asset_tensor = _plain_copy(model.network), torch.from_numpy(x), torch.from_numpy(assets)
    difference = float(np.max(np.abs(model.predict(x, assets) - _batched(plain, tensor, asset_tensor))))
    bare_gru, head = torch.nn.GRU(FEATURES, HIDDEN, batch_first=True), torch.nn.Linear(HIDDEN, 1)
    seconds = _best_times_taking_turns(
        {
            "ours": lambda: model.predict(x, assets),
            "plain": lambda: _batched(plain, tensor, asset_tensor),
            "bare": lambda: _batched(lambda s, _: head(bare_gru(s)[0][:, -1]).squeeze(-1), tensor, asset_tensor),
        }
    )
    ours, plain_seconds, bare_seconds = seconds["ours"], seconds["plain"], seconds["bare"]
    figures = {
        "device": str(choose_device()),
        "torch_threads": torch.get_num_threads(),
        "sequences": SEQUENCES,
        "ours_sequences_per_second": SEQUENCES / ours,
        "plain_torch_same_network_sequences_per_second": SEQUENCES / plain_seconds,
        "bare_torch_gru_sequences_per_second": SEQUENCES / bare_seconds,
        "ours_over_plain_torch_same_network": plain_seconds / ours,
        "ours_over_bare_torch_gru": bare_seconds / ours,
        "largest_difference_from_plain_torch": difference,
        "goal": GOAL,
    }
    figures["meets_goal"] = difference <= 1e-6 and all(figures[name] >= goal for name, goal in GOAL.items())
    return figures


if __name__ == "__main__":
    print(measure())
