"""Bus topics. Stage outputs go to `targets/<position>:<stage name>`; the last one also to FINAL_TARGETS.

One chunk flows through them in this order: BARS (the broker sees the market first, then the
stages), FINAL_TARGETS, ORDERS, then the broker's ORDER_UPDATES, FILLS and ACCOUNT, and CLOSES
(the ledger marks the chunk's closes). FILLS may also arrive later, from a broker that reports
them late; the ledger restates its marks from the fill's bar on. END: the feed has ended.
"""

BARS = "bars"
FINAL_TARGETS = "targets/final"
ORDERS = "orders"
ORDER_UPDATES = "orders/updates"
FILLS = "fills"
ACCOUNT = "account"
RECONCILIATION = "account/differences"
RISK = "risk"  # what the risk gate did: trips, refusals, cuts (engine.kernel.risk)
CLOSES = "closes"
END = "end"


def stage_topic(position: int, name: str) -> str:
    return f"targets/{position}:{name}"
