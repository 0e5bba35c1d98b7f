"""`make bench`: every benchmark, each figure beside a peer measured in the same run; JSON in benchmarks/results/.
`python -m benchmarks.run NAME ...` runs the named ones only."""

from __future__ import annotations

import json
import sys

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


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"error: no benchmark {', '.join(unknown)}; choose among {', '.join(BENCHMARKS)}", file=sys.stderr)
        sys.exit(2)
    for name in names or BENCHMARKS:
        figures = BENCHMARKS[name]()
        path = save(name, figures)
        print(f"{name} -> {path}")
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
