"""The Alpaca broker: the pipeline's orders sent to Alpaca's paper trading API (or `engine sandbox`)
through alpaca-py's TradingClient, crash-safe (DESIGN §11).

At a bar's close the target weights become market orders for the next open, sized as the backtest
sizes them at that close (`size_at_close_nb`, `execution.size_at = "close"`), from the account's
real cash and positions with what the session's open orders still have to fill counted as done: so
a restart never buys twice, and one that decides a bar again (killed between its sends) sizes the
orders still to send as it first did. (Orders placed outside the session are not counted:
reconciliation finds what they do.) Each order is journaled (engine.stores.order_journal) before it
is sent, under its deterministic client order id; a bar's orders then go out at once (the sales,
then the buys), a few in flight on sender threads, so a slow reply delays only its own order. A send
that fails in any way (a lost reply, a timeout, a 5xx after every try) is settled by looking the
order up by that id, never by sending blindly again.

Fills come from the trade-update stream (TradingStream) and, as a fallback for updates the stream
never replays after a drop, from polling the session's open orders at every bar. Both give the
order's cumulative filled quantity and average price: a fill is the increase over what the journal
holds, booked once (keyed by the order and its cumulative quantity), with the commission the
strategy's costs charge. They reach the ledger on the bus before the bar's close is marked.

Every `reconcile_every` bars the account (cash and positions) goes to the ledger, which records
every difference (journaled here). The risk gate (engine.kernel.risk) decides at each live
close, from the account, which orders may go; when it halts trading (a limit, a difference beyond
its `difference`, `engine paper halt`), the halt is journaled, so that a resumed session stays
halted, and the open orders are cancelled.
"""

from __future__ import annotations

import math
import os
import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace

import numpy as np
import pandas as pd

from engine import progress
from engine.alpaca.connection import AlpacaConnection, stop_stream
from engine.alpaca.request import AlpacaRequest, AlpacaRequestError
from engine.alpaca.retries import RetryPolicy, send
from engine.execution.conventions import (
    ExecutionRules,
    execute_shares_bar_nb,
    order_dt,
    share_commission_terms_nb,
    size_at_close_nb,
)
from engine.kernel.bus import EventBus
from engine.kernel.events import AccountDifference, AccountSnapshot, BarChunk, Fills, OrderBatch, OrderUpdate, order_id
from engine.kernel.risk import RiskEvent, RiskGate
from engine.kernel.topics import ACCOUNT, BARS, END, FILLS, ORDER_UPDATES, ORDERS, RECONCILIATION, RISK
from engine.stores.order_journal import FINAL_STATUSES, JournaledOrder, OrderJournal

QTY_DECIMALS = 9  # Alpaca takes fractional quantities to 9 decimals
MAX_IN_FLIGHT = 8  # a bar's orders sent at once, at most (Alpaca allows 200 requests a minute)
RESIZED = "-resized"  # the client order id's suffix of a buy sent again for what the buying power covers
BUYING_POWER_MARGIN = 1e-9  # a fractional buy's shares are cut by this fraction ($0.0001 on $100,000)
CRASH_VARIABLE = "ENGINE_PAPER_CRASH_AT"  # tests: "intent", "post", "sent" or "fill", optionally ":N" (the Nth time)
STATES = {"new": "accepted", "accepted": "accepted", "pending_new": "accepted", "partially_filled": "partially_filled",
          "filled": "filled", "rejected": "rejected"}  # fmt: skip


class AlpacaBroker:
    name = "alpaca"

    def __init__(
        self,
        connection: AlpacaConnection,
        rules: ExecutionRules,
        journal: OrderJournal,
        strategy: str,
        reconcile_every: int = 1,
        crash_at: str | None = None,
    ) -> None:
        """`crash_at`: ENGINE_PAPER_CRASH_AT's test hook (see _CrashPoint), read by the entry point."""
        connection.check_orders_go_to_paper()
        self.connection, self.rules, self.journal, self.strategy = connection, rules, journal, strategy
        self.reconcile_every = reconcile_every
        self._client, self._policy = connection.trading_client(), RetryPolicy.of(connection)
        self._senders = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="alpaca-orders")
        self._sender_clients = threading.local()  # a client each: a requests session is not shared across threads
        self._updates: queue.SimpleQueue = queue.SimpleQueue()
        self._bars_seen = 0
        self._crash = _CrashPoint.parse(crash_at or "")
        self._bus: EventBus | None = None
        self._gate: RiskGate | None = None
        self._orders_seen = False
        self._symbols: tuple[str, ...] = ()
        self._last_closes = np.empty(0)  # the latest bar's, by column: the price a refused buy is resized at
        self._stream: tuple | None = None
        # A halt asked for from another thread (`engine paper halt`) runs between bars, never inside one.
        self._busy = threading.RLock()

    @property
    def halted(self) -> str | None:
        """Why the session stopped sending orders; None while it trades."""
        return self.journal.fact("halted")

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate: RiskGate) -> None:
        self._bus, self._symbols, self._gate = bus, symbols, gate
        bus.subscribe(BARS, self.on_bars)
        bus.subscribe(ORDERS, self.on_orders)
        bus.subscribe(RECONCILIATION, self.on_difference)
        bus.subscribe(RISK, self.on_risk)
        bus.subscribe(END, self.on_end)

    def listen(self) -> None:
        """Start taking trade updates from the stream (the SDK reconnects with backoff by itself)."""
        stream = self.connection.trade_update_stream()

        async def on_update(update) -> None:
            self._updates.put(update.order)

        stream.subscribe_trade_updates(on_update)
        listener = threading.Thread(target=stream.run, name="alpaca-trade-updates", daemon=True)
        listener.start()
        self._stream = (stream, listener)

    def on_end(self, event) -> None:
        self._senders.shutdown()
        if self._stream is not None:
            stop_stream(*self._stream)
            self._stream = None

    # -- each bar: what happened to the orders, then the account

    def on_bars(self, event: BarChunk) -> None:
        with self._busy:
            self._on_bars(event)

    def _on_bars(self, event: BarChunk) -> None:
        if not self._bars_seen:  # a resumed session's past fills, booked before anything new
            self._bus.publish(FILLS, self.replayed_fills())
        self._last_closes = event.bars.close[-1]
        self.settle()
        self._bars_seen += len(event.bars)
        if self._bars_seen % self.reconcile_every == 0 or len(event.bars) > 1:
            self._bus.publish(ACCOUNT, self._snapshot(event.bars.timestamps[-1]))

    def settle(self) -> None:
        """Bring every journaled order up to date: stream updates first, then a look at each order the
        journal still has open (a missed update, or an intent whose send never answered)."""
        fills: list[tuple] = []
        while True:
            try:
                order = self._updates.get_nowait()
            except queue.Empty:
                break
            fills.extend(self._apply(order.client_order_id, _order_fields(order)))
        for journaled in self.journal.open_orders():
            reply = self._lookup(journaled.client_order_id)
            if reply is None:
                self._resend_or_end(journaled)
                continue
            fills.extend(self._apply(journaled.client_order_id, _reply_fields(reply)))
        if fills and self._bus is not None:
            self._bus.publish(FILLS, Fills.from_records(fills))

    def replayed_fills(self) -> Fills:
        """Every fill the journal holds, as the ledger books them (a resumed session's past)."""
        records = []
        for client_order_id, stamp, qty, price, fees in self.journal.fills():
            order = self.journal.order(client_order_id)
            records.append(self._fill_record(order, pd.Timestamp(stamp), qty, price, fees))
        return Fills.from_records(records)

    def _apply(self, client_order_id: str, fields: dict) -> list[tuple]:
        """An order's state from the broker: the fill it adds to the journal's (if any), its status."""
        journaled = self.journal.order(client_order_id)
        if journaled is None:  # not this session's
            return []
        if journaled.broker_id is None:
            self.journal.acknowledge(client_order_id, fields["id"], fields["status"])
        filled_qty, avg_price = fields["filled_qty"], fields["filled_avg_price"]
        new = filled_qty - journaled.filled_qty
        records = []
        if new > 1e-12 and avg_price is not None:
            price = (filled_qty * avg_price - journaled.filled_qty * (journaled.filled_avg_price or 0.0)) / new
            stamp = fields["filled_at"] or fields["updated_at"]
            fees = self._fees(journaled.side * new, price)
            self._crash.at("fill")
            if self.journal.fill(journaled, fields["status"], filled_qty, avg_price, (stamp.isoformat(), new, price, fees)):
                records.append(self._fill_record(journaled, stamp, new, price, fees))
        elif fields["status"] != journaled.status:
            self.journal.set_status(client_order_id, fields["status"])
        if fields["status"] != journaled.status or records:
            state = STATES.get(fields["status"], "cancelled" if fields["status"] in FINAL_STATUSES else "accepted")
            update = OrderUpdate(client_order_id, journaled.symbol, state, _stamp(fields["updated_at"]), filled_size=filled_qty)
            self._bus.publish(ORDER_UPDATES, update)
        return records

    def _fees(self, shares: float, price: float) -> float:
        """The strategy's commission on a fill, as the backtest charges it (decided at the open price)."""
        sign = 1.0 if shares > 0 else -1.0
        open_price = price / (1.0 + sign * self.rules.slippage)
        rate, fixed = share_commission_terms_nb(
            shares, open_price, self.rules.commission, self.rules.slippage, self.rules.min_commission
        )
        return abs(shares) * price * rate + fixed

    def _fill_record(self, order: JournaledOrder, stamp: pd.Timestamp, qty: float, price: float, fees: float) -> tuple:
        open_price = price / (1.0 + order.side * self.rules.slippage)
        return (
            order.client_order_id,
            _stamp(stamp),
            np.datetime64(pd.Timestamp(order.decided_at).tz_convert(None)),
            order.column,
            order.side,
            qty,
            price,
            fees,
            qty * abs(price - open_price),
            order.target_weight,
        )

    # -- the close: new orders

    def on_orders(self, event: OrderBatch) -> None:
        with self._busy:
            self._on_orders(event)

    def _on_orders(self, event: OrderBatch) -> None:
        history = not self._orders_seen  # the first chunk only warms the stages up: nothing to ask the gate
        self._orders_seen = True
        if history or (np.isnan(event.target_weights).all() and not self._gate.watches_bars):
            return  # nothing to size and no limit to mark: no round trip to the account
        cash, held = self.account()
        for row in range(len(event.bars)):
            decided_at, closes = event.bars.timestamps[row], event.bars.close[row]
            free_cash, committed = self._sizing_account(decided_at, closes, cash, held)
            weights = self._gate.at_close(decided_at, event.target_weights[row], closes, free_cash, committed)
            if not np.isnan(weights).all():
                self._place(decided_at, weights, closes, free_cash, committed)

    def _sizing_account(
        self, decided_at: np.datetime64, closes: np.ndarray, cash: float, held: dict[str, float]
    ) -> tuple[float, np.ndarray]:
        """The cash and shares the orders decided at `decided_at` are sized from, so that they are sized
        as the backtest sizes them: the account's, with what the session's open orders of earlier bars
        still have to fill counted as done at this close (their shares held, their cost spent), and
        without this decision's own orders (a restart deciding again): what they filled is undone, so
        that those still to send get the quantities they first had. Every order the journal holds open
        was brought up to date at this bar's start."""
        decision = _iso(decided_at)
        shares = np.array([held.get(symbol, 0.0) for symbol in self._symbols])
        for order in self.journal.open_or_decided_at(decision):
            if order.decided_at == decision:
                filled = order.side * order.filled_qty
                shares[order.column] -= filled
                cash += filled * (order.filled_avg_price or 0.0) + self.journal.fees_of(order.client_order_id)
                continue
            left = order.qty - order.side * order.filled_qty
            if left:
                price = closes[order.column] * (1.0 + order.side * self.rules.slippage)
                shares[order.column] += left
                cash -= left * price + self._fees(left, price)
        return cash, shares

    def _place(self, decided_at: np.datetime64, weights: np.ndarray, closes: np.ndarray, cash: float, held: np.ndarray):
        """Send the orders the gate let through, sized at the close from the account, sells first (the
        broker counts what an open sale brings toward a buy's buying power)."""
        decided = time.monotonic()
        shares = size_at_close_nb(weights, closes, cash, cash, held, np.zeros(len(weights)), self.rules.terms)
        shares = self._under_buying_power(shares)
        intents = []
        for column in sorted(np.flatnonzero(~np.isnan(weights)), key=lambda column: shares[column] > 0):
            qty = order_quantity(float(shares[column]))
            if qty == 0.0:
                continue
            symbol = self._symbols[column]
            client_order_id = order_id(self.strategy, decided_at, symbol)
            if self.journal.order(client_order_id) is not None:  # decided again after a restart: already handled
                continue
            order = JournaledOrder(
                client_order_id,
                _iso(decided_at),
                symbol,
                int(column),
                qty,
                float(weights[column]),
                None,
                "intent",
                0.0,
                None,
                None,
            )
            self.journal.intend(order)
            self._crash.at("intent")
            intents.append(order)
        # The sales are placed first: what they bring counts toward the buys' buying power.
        self._send_all([order for order in intents if order.qty < 0], decided)
        self._send_all([order for order in intents if order.qty > 0], decided)

    def _under_buying_power(self, shares: np.ndarray) -> np.ndarray:
        """Fractional buys a hair under what the cash covers: float error never costs a buy."""
        if not self.rules.fractional_shares:
            return shares
        return np.where(shares > 0, shares * (1.0 - BUYING_POWER_MARGIN), shares)

    def _send(self, order: JournaledOrder, decided: float | None = None) -> None:
        self._send_all([order], decided)

    def _send_all(self, orders: list[JournaledOrder], decided: float | None) -> None:
        """Send journaled intents at once, at most MAX_IN_FLIGHT in flight, so that a slow reply delays
        only its own order; each outcome is journaled here, on this thread, as it comes."""
        placing = {self._senders.submit(self._post, order): order for order in orders}
        for done in as_completed(placing):
            order = placing[done]
            reply, refused = done.result()
            if reply is None:
                self._refused(order, refused, decided)
                continue
            self._crash.at("sent")
            sent_seconds = None if decided is None else time.monotonic() - decided
            self.journal.acknowledge(order.client_order_id, str(reply["id"]), str(reply["status"]), sent_seconds)

    def _post(self, order: JournaledOrder) -> tuple[dict | None, AlpacaRequestError | None]:
        """On a sender thread, with its own client: the broker's order, and why the post failed if it
        did (a lost reply, a timeout: the order may be placed all the same, so it is looked up)."""
        self._crash.at("post")
        client = getattr(self._sender_clients, "client", None)
        if client is None:
            client = self._sender_clients.client = self.connection.trading_client()
        body = {
            "symbol": order.symbol,
            "qty": repr(abs(order.qty)),
            "side": "buy" if order.qty > 0 else "sell",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": order.client_order_id,
        }
        try:
            return send(client, AlpacaRequest("/orders", "v2", (order.symbol,), method="POST"), body, self._policy), None
        except AlpacaRequestError as refused:
            return self._lookup(order.client_order_id, client), refused

    def _refused(self, order: JournaledOrder, refused: AlpacaRequestError, decided: float | None) -> None:
        """An order the broker refused is journaled `rejected`; a buy refused for buying power is sent
        again, once, for what the buying power covers (journaled before the refusal is: a crash between
        the two resends it on resume, never twice: its id is its own)."""
        resized = self._resized(order) if _wants_buying_power(refused) else None
        if resized is not None and self.journal.order(resized.client_order_id) is None:
            self.journal.intend(resized)
        self.journal.end(order.client_order_id, "rejected", str(refused))
        update = OrderUpdate(order.client_order_id, order.symbol, "rejected", _now(), reason=str(refused))
        self._bus.publish(ORDER_UPDATES, update)
        if resized is None:
            progress.notice(f"order {order.client_order_id} was not placed: {refused}")
            return
        progress.notice(
            f"order {order.client_order_id} was refused for buying power: sent again for {resized.qty:g} shares,"
            f" what the buying power covers, as {resized.client_order_id}"
        )
        if self.journal.order(resized.client_order_id).status == "intent":
            self._send(resized, decided)

    def _resized(self, order: JournaledOrder) -> JournaledOrder | None:
        """A buy the broker refused for want of buying power (the account had less to spend than the
        session counted: an open order placed outside it, say), as many shares as the buying power covers
        at the latest close, under its own id; None for a sale, an order resized already, or nothing left."""
        price = self._last_closes[order.column] if len(self._last_closes) else np.nan
        if order.qty <= 0 or order.client_order_id.endswith(RESIZED) or not price > 0:
            return None
        account = send(self._client, AlpacaRequest("/account", "v2", ()), {}, self._policy)
        buying_power = float(account["buying_power"])
        shares = np.array([order.qty])
        position, debt = np.zeros(1), np.zeros(1)
        execute_shares_bar_nb(0, shares, np.array([price]), buying_power, buying_power, position, debt, self.rules.terms,
                              np.empty(1, dtype=order_dt), 0)  # fmt: skip
        qty = order_quantity(float(self._under_buying_power(position)[0]))
        if qty <= 0.0:
            return None
        return replace(order, client_order_id=order.client_order_id + RESIZED, qty=qty)

    def _resend_or_end(self, order: JournaledOrder) -> None:
        """An intent the broker does not know: sent now if nothing was acknowledged (a crash before the
        send); an acknowledged order the broker has lost is ended."""
        if order.broker_id is None:
            self._send(order)
        else:
            self.journal.end(order.client_order_id, "canceled", "the broker no longer knows the order")

    def on_difference(self, difference: AccountDifference) -> None:
        self.journal.difference(_iso(difference.timestamp), difference.field, difference.ledger, difference.broker)

    def on_risk(self, event: RiskEvent) -> None:
        """A halt is journaled (a resumed session stays halted) and cancels the open orders; refused
        orders are told."""
        if event.action == "refused":
            progress.notice(f"trading is halted ({self.halted}): the orders decided at {_iso(event.timestamp)} are not sent")
        if event.action != "halted":
            return
        with self._busy:  # from any thread (`engine paper halt`): it waits for the bar in hand
            self.journal.set_fact("halted", event.reason)
            progress.notice(f"trading halted: {event.reason}")
            self._cancel_open_orders()

    def flatten(self) -> None:
        """Cancel open orders and sell every position in the session's symbols at the next open."""
        self._cancel_open_orders()
        _, held = self.account()
        stamp = np.datetime64(pd.Timestamp.now(tz="UTC").tz_convert(None), "s")
        for column, symbol in enumerate(self._symbols):
            if held.get(symbol, 0.0) > 0:
                client_order_id = order_id(f"{self.strategy}-flatten", stamp, symbol)
                order = JournaledOrder(
                    client_order_id, _iso(stamp), symbol, column, -held[symbol], 0.0, None, "intent", 0.0, None, None
                )
                self.journal.intend(order)
                self._send(order)

    def _cancel_open_orders(self) -> None:
        for order in self.journal.open_orders():
            if order.broker_id is not None:
                try:
                    send(
                        self._client,
                        AlpacaRequest(f"/orders/{order.broker_id}", "v2", (order.symbol,), method="DELETE"),
                        {},
                        self._policy,
                    )
                except AlpacaRequestError as error:  # filled meanwhile: the next settle books it
                    progress.notice(f"order {order.client_order_id} could not be canceled: {error}")

    # -- the account

    def account(self) -> tuple[float, dict[str, float]]:
        """The account's cash and its shares by symbol."""
        account = send(self._client, AlpacaRequest("/account", "v2", ()), {}, self._policy)
        positions = send(self._client, AlpacaRequest("/positions", "v2", ()), {}, self._policy)
        return float(account["cash"]), {position["symbol"]: float(position["qty"]) for position in positions}

    def _snapshot(self, stamp: np.datetime64) -> AccountSnapshot:
        cash, held = self.account()
        return AccountSnapshot(stamp, cash, held)

    def _lookup(self, client_order_id: str, client=None) -> dict | None:
        request = AlpacaRequest("/orders:by_client_order_id", "v2", ())
        return send(client or self._client, request, {"client_order_id": client_order_id}, self._policy, missing_ok=True)


def _wants_buying_power(refused: AlpacaRequestError) -> bool:
    """Alpaca's refusal of a buy the account cannot cover: 403, "insufficient buying power"."""
    return refused.status == 403 and "buying power" in str(refused)


def order_quantity(shares: float) -> float:
    """Shares as an order names them: to Alpaca's 9 decimals, never away from zero, so that a sale
    never asks for more than is held (rounding 45.67088600475456 up to 45.670886005 would). A quantity
    already of 9 decimals is kept as it is, whatever float noise it carries."""
    quantity = round(shares, QTY_DECIMALS)
    if abs(quantity) - abs(shares) > 1e-12:  # rounded away from zero by more than float noise: a step back
        quantity = round(quantity - math.copysign(10.0**-QTY_DECIMALS, shares), QTY_DECIMALS)
    return quantity


class _CrashPoint:
    """A test's SIGKILL at an exact point of the order flow (ENGINE_PAPER_CRASH_AT=point[:N]): `intent`
    (journaled), `post` (on a sender thread, as the order is about to go: others of its bar may be in
    flight), `sent` (acknowledged, not yet journaled), `fill` (not yet journaled)."""

    def __init__(self, point: str | None, nth: int) -> None:
        self.point, self.left = point, nth
        self._counting = threading.Lock()  # `post` is reached on several threads

    @classmethod
    def parse(cls, text: str) -> _CrashPoint:
        point, _, nth = text.partition(":")
        return cls(point or None, int(nth or 1))

    def at(self, point: str) -> None:
        if point == self.point:
            with self._counting:
                self.left -= 1
                if self.left == 0:
                    os.kill(os.getpid(), signal.SIGKILL)


def _order_fields(order) -> dict:
    """What `_apply` needs of an alpaca-py Order model (from the stream)."""
    return {
        "id": str(order.id),
        "status": str(getattr(order.status, "value", order.status)),
        "filled_qty": float(order.filled_qty or 0.0),
        "filled_avg_price": None if order.filled_avg_price is None else float(order.filled_avg_price),
        "filled_at": None if order.filled_at is None else pd.Timestamp(order.filled_at),
        "updated_at": pd.Timestamp(order.updated_at),
    }


def _reply_fields(reply: dict) -> dict:
    """What `_apply` needs of an order as the REST API returns it."""
    return {
        "id": str(reply["id"]),
        "status": str(reply["status"]),
        "filled_qty": float(reply.get("filled_qty") or 0.0),
        "filled_avg_price": None if reply.get("filled_avg_price") is None else float(reply["filled_avg_price"]),
        "filled_at": None if reply.get("filled_at") is None else pd.Timestamp(reply["filled_at"]),
        "updated_at": pd.Timestamp(reply["updated_at"]),
    }


def _stamp(stamp: pd.Timestamp) -> np.datetime64:
    """A broker's time as the bars' (UTC, naive, ns)."""
    stamp = pd.Timestamp(stamp)
    return np.datetime64((stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).as_unit("ns"))


def _iso(stamp: np.datetime64) -> str:
    return pd.Timestamp(stamp, tz="UTC").isoformat()


def _now() -> np.datetime64:
    return _stamp(pd.Timestamp.now(tz="UTC"))
