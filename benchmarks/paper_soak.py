"""A paper session soaked with faults: a trading day of hourly bars for the whole synthetic universe
(24 symbols) through `engine sandbox` (a separate process on loopback) at full speed, with 429s,
5xx, lost order replies, and dropped, repeated and reordered stream messages. Bars per second and
the decision-to-acknowledgement latency of each order (median, p99), and every order checked: none
lost, none sent twice. The peer is the dry run of the same session (`--broker sim`) on the same
feed, in the same run: what orders to Alpaca cost on top of the live feed."""

from __future__ import annotations

from benchmarks.common import workspace
from benchmarks.paper_sessions import LIVE_FROM, run_session, sandboxed, sma_cross_strategy
from engine.data.sample import SYNTHETIC_SYMBOLS

LIVE_BARS = 7  # a trading day of hours
FAULTS = "rate_limit=0.1,retry_after=0.01,server_error=0.05,lost_reply=0.2,drop_every=25,duplicate=0.1,out_of_order=0.1"
STRATEGY = sma_cross_strategy("soak", SYNTHETIC_SYMBOLS)


def measure() -> dict:
    source = workspace()
    figures = {"data": f"{len(SYNTHETIC_SYMBOLS)} symbols, {LIVE_BARS} live hourly bars from {LIVE_FROM}", "faults": FAULTS}
    for broker in ("alpaca", "sim"):
        with sandboxed(source, FAULTS) as (consumer, connection):
            session = run_session(consumer, connection, STRATEGY, broker, LIVE_BARS)
        figures |= {f"{broker}_{name}": value for name, value in session.items()}
    return figures


if __name__ == "__main__":
    print(measure())
