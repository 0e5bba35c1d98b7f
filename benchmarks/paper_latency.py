"""How long a bar's orders take to reach Alpaca: a paper session of an sma cross on 12 synthetic
symbols through `engine sandbox` (a separate process on loopback), no faults, each order's time
from the decision at the close to Alpaca's acknowledgement (median and p99); and the same with
every reply of the sandbox delayed 0.5 s, where a bar's orders sent one after another would wait
on each other. The peer, in the same run: one order's round trip alone (a limit order far from the
market, posted through alpaca-py's client to the same sandbox, one at a time)."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import workspace
from benchmarks.paper_sessions import QUICK, run_session, sandboxed, sma_cross_strategy
from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import send
from engine.data.sample import SYNTHETIC_SYMBOLS

SYMBOLS = SYNTHETIC_SYMBOLS[:12]
LIVE_BARS = 14  # two trading days of hours
DELAYED = "slow=1,delay=0.5"
GOAL = {"median_ms": 60.0, "p99_ms": 250.0}
STRATEGY = sma_cross_strategy("latency", SYMBOLS)


def measure() -> dict:
    source = workspace()
    figures: dict = {"data": f"{len(SYMBOLS)} symbols, {LIVE_BARS} live hourly bars", "goal": GOAL}
    with sandboxed(source, "") as (consumer, connection):
        session = run_session(consumer, connection, STRATEGY, "alpaca", LIVE_BARS)
        figures["one_order_round_trip_median_ms"] = _round_trip_ms(connection)
    figures |= {
        "orders_sent": session["orders_sent"],
        "orders_lost": session["orders_lost"],
        "orders_duplicated": session["orders_duplicated"],
        "median_ms": session["decision_to_acknowledgement_median_ms"],
        "p99_ms": session["decision_to_acknowledgement_p99_ms"],
    }
    with sandboxed(source, DELAYED) as (consumer, connection):
        delayed = run_session(consumer, connection, STRATEGY, "alpaca", LIVE_BARS)
    figures |= {
        "replies_delayed": DELAYED,
        "delayed_median_ms": delayed["decision_to_acknowledgement_median_ms"],
        "delayed_p99_ms": delayed["decision_to_acknowledgement_p99_ms"],
    }
    figures["meets_goal"] = figures["median_ms"] <= GOAL["median_ms"] and figures["p99_ms"] <= GOAL["p99_ms"]
    return figures


def _round_trip_ms(connection, orders: int = 12) -> float:
    """The median time of posting one order alone (a limit buy at $1: it never fills)."""
    client, times = connection.trading_client(), []
    for number, symbol in enumerate(SYMBOLS[:orders]):
        body = {"symbol": symbol, "qty": "1", "side": "buy", "type": "limit", "limit_price": "1", "time_in_force": "gtc",
                "client_order_id": f"round-trip-{number}"}  # fmt: skip
        start = time.perf_counter()
        send(client, AlpacaRequest("/orders", "v2", (symbol,), method="POST"), body, QUICK)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


if __name__ == "__main__":
    print(measure())
