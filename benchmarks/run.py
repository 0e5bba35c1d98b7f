"""`make bench`: every benchmark, each figure beside a peer measured in the same run; JSON in benchmarks/results/."""

from __future__ import annotations

import json

from benchmarks import (
    alpaca_fetch,
    finbert_scoring,
    gru_inference,
    load_memory,
    optimize_trials,
    overlay_chain,
    paper_latency,
    paper_soak,
    replay_vs_backtrader,
    scale,
    startup,
    vectorized_backtest,
)
from benchmarks.common import save

BENCHMARKS = {
    "vectorized_backtest": vectorized_backtest.measure,
    "replay_vs_backtrader": replay_vs_backtrader.measure,
    "load_memory": load_memory.measure,
    "scale": scale.measure,
    "gru_inference": gru_inference.measure,
    "overlay_chain": overlay_chain.measure,
    "optimize_trials": optimize_trials.measure,
    "startup": startup.measure,
    "alpaca_fetch": alpaca_fetch.measure,
    "finbert_scoring": finbert_scoring.measure,
    "paper_soak": paper_soak.measure,
    "paper_latency": paper_latency.measure,
}


def main() -> None:
    for name, measure in BENCHMARKS.items():
        figures = measure()
        path = save(name, figures)
        print(f"{name} -> {path}")
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
