"""A paper session's order journal: SQLite in WAL mode, in the session's run folder (DESIGN §11).

Each order's intent is written (and committed) before the order is sent, under its deterministic
client order id; then the broker's acknowledgement, then every fill, each fill in the same
transaction as the order's new cumulative filled quantity. So after a crash at any point the
journal and the broker together say what happened: an intent without an acknowledgement is looked
up at the broker by its client order id before anything is sent again, and a fill the journal lacks
is the difference between the broker's cumulative filled quantity and the journal's.

It also keeps the session's facts (its first live bar, its starting cash, a halt and why), the last
bar whose orders were all placed, every decision with its inputs (the bar, each stage's weights),
and every difference reconciliation found.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

FINAL_STATUSES = ("filled", "canceled", "expired", "rejected", "done_for_day", "replaced", "stopped", "suspended")

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    decided_at TEXT NOT NULL,
    symbol TEXT NOT NULL,
    column_index INTEGER NOT NULL,
    qty REAL NOT NULL,                 -- signed: negative sells
    target_weight REAL NOT NULL,
    broker_id TEXT,                    -- NULL until acknowledged
    status TEXT NOT NULL,              -- intent, then the broker's order status
    filled_qty REAL NOT NULL DEFAULT 0,
    filled_avg_price REAL,
    reason TEXT,
    sent_seconds REAL                  -- from the decision to the acknowledgement
);
CREATE TABLE IF NOT EXISTS fills (
    key TEXT PRIMARY KEY,              -- the order and its cumulative filled quantity after the fill
    client_order_id TEXT NOT NULL REFERENCES orders(client_order_id),
    timestamp TEXT NOT NULL,
    qty REAL NOT NULL,
    price REAL NOT NULL,
    fees REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    bar TEXT PRIMARY KEY,              -- the live bar decided on, at its close
    inputs TEXT NOT NULL,              -- JSON: the bar's open, high, low, close and volume by symbol
    outputs TEXT NOT NULL              -- JSON: each stage's weights by symbol, signal first, final last
);
CREATE TABLE IF NOT EXISTS differences (at TEXT NOT NULL, field TEXT NOT NULL, ledger REAL NOT NULL, broker REAL NOT NULL);
"""


@dataclass(frozen=True)
class JournaledOrder:
    client_order_id: str
    decided_at: str
    symbol: str
    column: int
    qty: float
    target_weight: float
    broker_id: str | None
    status: str
    filled_qty: float
    filled_avg_price: float | None
    reason: str | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def side(self) -> int:
        return 1 if self.qty > 0 else -1


class OrderJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed intent survives a power cut
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- facts

    def fact(self, name: str, default=None):
        row = self._db.execute("SELECT value FROM facts WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_fact(self, name: str, value) -> None:
        self._db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?)", (name, json.dumps(value)))

    # -- orders

    def intend(self, order: JournaledOrder) -> None:
        """Record an order before it is sent."""
        self._db.execute(
            "INSERT INTO orders (client_order_id, decided_at, symbol, column_index, qty, target_weight, status)"
            " VALUES (?, ?, ?, ?, ?, ?, 'intent')",
            (order.client_order_id, order.decided_at, order.symbol, order.column, order.qty, order.target_weight),
        )

    def acknowledge(self, client_order_id: str, broker_id: str, status: str, sent_seconds: float | None = None) -> None:
        self._db.execute(
            "UPDATE orders SET broker_id = ?, status = ?, sent_seconds = COALESCE(?, sent_seconds) WHERE client_order_id = ?",
            (broker_id, status, sent_seconds, client_order_id),
        )

    def end(self, client_order_id: str, status: str, reason: str) -> None:
        """An order that ended without (more) fills: rejected, or never placed."""
        self._db.execute("UPDATE orders SET status = ?, reason = ? WHERE client_order_id = ?", (status, reason, client_order_id))

    def order(self, client_order_id: str) -> JournaledOrder | None:
        rows = self._orders("WHERE client_order_id = ?", (client_order_id,))
        return rows[0] if rows else None

    def orders(self) -> list[JournaledOrder]:
        return self._orders("ORDER BY rowid", ())

    def open_orders(self) -> list[JournaledOrder]:
        return [order for order in self.orders() if not order.is_final]

    def open_or_decided_at(self, decided_at: str) -> list[JournaledOrder]:
        """The orders still open, and every order decided at `decided_at`."""
        final = ", ".join("?" * len(FINAL_STATUSES))
        return self._orders(f"WHERE status NOT IN ({final}) OR decided_at = ? ORDER BY rowid", (*FINAL_STATUSES, decided_at))

    def _orders(self, where: str, parameters: tuple) -> list[JournaledOrder]:
        columns = (
            "client_order_id, decided_at, symbol, column_index, qty, target_weight, broker_id, status,"
            " filled_qty, filled_avg_price, reason"
        )
        return [JournaledOrder(*row) for row in self._db.execute(f"SELECT {columns} FROM orders {where}", parameters)]

    def sent_seconds(self) -> list[float]:
        return [row[0] for row in self._db.execute("SELECT sent_seconds FROM orders WHERE sent_seconds IS NOT NULL")]

    # -- fills

    def fill(self, order: JournaledOrder, status: str, filled_qty: float, avg_price: float, fill: tuple) -> bool:
        """Book a fill (timestamp, qty, price, fees) that takes the order to `filled_qty`; False if the
        journal had it already."""
        timestamp, qty, price, fees = fill
        key = f"{order.client_order_id}@{filled_qty!r}"
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?)", (key, order.client_order_id, timestamp, qty, price, fees)
            ).rowcount
            self._db.execute(
                "UPDATE orders SET status = ?, filled_qty = ?, filled_avg_price = ? WHERE client_order_id = ?",
                (status, filled_qty, avg_price, order.client_order_id),
            )
        return bool(inserted)

    def set_status(self, client_order_id: str, status: str) -> None:
        self._db.execute("UPDATE orders SET status = ? WHERE client_order_id = ?", (status, client_order_id))

    def fees_of(self, client_order_id: str) -> float:
        """The commission booked on an order's fills."""
        return self._db.execute(
            "SELECT COALESCE(SUM(fees), 0.0) FROM fills WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()[0]

    def fills(self) -> list[tuple]:
        """(client order id, timestamp, qty, price, fees) of every fill, in the order booked."""
        return list(self._db.execute("SELECT client_order_id, timestamp, qty, price, fees FROM fills ORDER BY rowid"))

    # -- decisions

    def decide(self, bar: str, inputs: dict, outputs: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?)", (bar, json.dumps(inputs), json.dumps(outputs)))

    def decisions(self) -> list[tuple[str, dict, dict]]:
        rows = self._db.execute("SELECT bar, inputs, outputs FROM decisions ORDER BY bar")
        return [(bar, json.loads(inputs), json.loads(outputs)) for bar, inputs, outputs in rows]

    # -- reconciliation

    def difference(self, at: str, field: str, ledger: float, broker: float) -> None:
        self._db.execute("INSERT INTO differences VALUES (?, ?, ?, ?)", (at, field, ledger, broker))

    def differences(self) -> list[tuple]:
        return list(self._db.execute("SELECT at, field, ledger, broker FROM differences ORDER BY rowid"))
