"""The sandbox's paper account: one account in memory with Alpaca's orders (market and limit, day
and gtc), filled on the replayed clock; the trading endpoints (engine.sandbox.trading) are a thin
adapter over it.

Its cash, positions and open orders are a `SimAccount` (engine.execution.account), the account the
sim broker keeps, which matches them bar by bar: market orders at the open of the symbol's next bar
after they were placed, through the engine's own bar kernel for orders of shares
(`execute_shares_bar_nb`, DESIGN §3): slippage on the open, commission per side with its minimum,
long/flat, sells before buys, and buys that the cash cannot cover all shrunk by one factor (what a
shrunk order could not buy is canceled). So a paper session sized at the close
(`execution.size_at = "close"`) fills here as its backtest fills. Limit orders then fill, all or
nothing, at the open when it is already through the limit, else at the limit when the bar's range
reaches it. What is kept here is Alpaca's side of an order: its ids, statuses and history. A day
order not filled on its trading day (New York) expires. An order is accepted when the cash, with
what the open sells will bring at the last close, covers it at that close with its costs.
Order ids come from a generator seeded by `--seed`, so a session replayed with the same calls
answers the same.

Every change of an order's state is also a trade update (new, fill, partial_fill, canceled,
expired, rejected), kept in order for the trade-update stream; the account's pulse beats with each.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

import pandas as pd

from engine.execution.account import SimAccount
from engine.execution.conventions import ExecutionRules
from engine.kernel.bars import EXCHANGE_ZONE
from engine.sandbox.clock import ReplayClock
from engine.sandbox.faults import FaultState
from engine.sandbox.pulse import Pulse
from engine.sandbox.wire import (
    FORBIDDEN,
    NOT_FOUND,
    UNPROCESSABLE,
    AlpacaError,
    invalid,
    money,
    timestamp,
)

OPEN_STATUSES = ("new", "partially_filled", "accepted", "pending_new")
TIMES_IN_FORCE = ("day", "gtc")
EXCHANGE = ""  # AssetExchange's "none": the store does not know where a symbol is listed


@dataclass
class Order:
    id: str
    client_order_id: str
    symbol: str
    column: int  # the symbol's, in the account's books
    side: str
    type: str
    time_in_force: str
    qty: float | None
    notional: float | None
    limit_price: float | None
    placed_at: int  # the index of the last released bar when it was placed: it fills on a later one
    submitted_at: pd.Timestamp
    updated_at: pd.Timestamp
    in_two_parts: bool = False  # the `partial` fault: half fills on its first bar, the rest on a later one
    status: str = "new"
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    filled_at: pd.Timestamp | None = None
    canceled_at: pd.Timestamp | None = None
    expired_at: pd.Timestamp | None = None
    failed_at: pd.Timestamp | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining_qty(self) -> float | None:
        """Shares still to fill; None for a notional order (it fills whole)."""
        return None if self.qty is None else self.qty - self.filled_qty

    def shares_at(self, price: float, slippage: float) -> float:
        """The signed shares it trades at this price: a notional order's at the price with slippage; the
        first part of an order the `partial` fault splits."""
        sign = 1.0 if self.side == "buy" else -1.0
        shares = self.remaining_qty
        if shares is None:
            shares = self.notional / (price * (1.0 + sign * slippage))
        elif self.in_two_parts and self.filled_qty == 0.0:
            shares = _first_part(shares)
        return sign * shares

    def json(self, asset_id: str) -> dict:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": timestamp(self.submitted_at),
            "updated_at": timestamp(self.updated_at),
            "submitted_at": timestamp(self.submitted_at),
            "filled_at": _optional(timestamp, self.filled_at),
            "expired_at": _optional(timestamp, self.expired_at),
            "canceled_at": _optional(timestamp, self.canceled_at),
            "failed_at": _optional(timestamp, self.failed_at),
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset_id,
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": _optional(money, self.notional),
            "qty": _optional(money, self.qty),
            "filled_qty": money(self.filled_qty),
            "filled_avg_price": _optional(money, self.filled_avg_price),
            "order_class": "simple",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": _optional(money, self.limit_price),
            "stop_price": None,
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


@dataclass
class PaperAccount:
    clock: ReplayClock
    rules: ExecutionRules
    faults: FaultState
    books: SimAccount = field(init=False)  # cash, positions and open orders, matched through the engine's kernel
    orders: list[Order] = field(default_factory=list)  # every order placed, oldest first
    cost_basis: dict[str, float] = field(default_factory=dict)  # of the shares held, at their fill prices, commission apart
    trade_updates: list[dict] = field(default_factory=list)  # the `data` of each, oldest first
    changed: Pulse = field(default_factory=Pulse)

    def __post_init__(self) -> None:
        self.books = SimAccount(self.rules, self.clock.bars.symbols)
        self._ids = random.Random(self.faults.seed)  # the session's seed: the same calls get the same ids
        self._account_id = self._new_id()
        self._processed = self.clock.released
        bars = self.clock.bars
        self._last_close = pd.DataFrame(bars.close).ffill().to_numpy()  # a symbol without a bar keeps its last price

    # -- the replay

    def catch_up(self) -> None:
        """Fill, reject or expire open orders on every bar released since the last call."""
        released = self.clock.released
        if released == self._processed:
            return
        for index in range(self._processed + 1, released + 1):
            self._execute_bar(index)
            self._processed = index
        self.changed.beat()

    def reset(self) -> None:
        """What a paper account reset does at Alpaca: the starting cash back, every position and order gone."""
        self.books.reset()
        self.orders.clear()
        self.cost_basis.clear()
        self.changed.beat()

    def advance(self, bars: int) -> None:
        self.clock.advance(bars)
        self.catch_up()

    def _execute_bar(self, index: int) -> None:
        bars = self.clock.bars
        at = self.clock.timeline[index]
        day = at.tz_convert(EXCHANGE_ZONE).date()
        for order in self.books.open_orders:
            if order.time_in_force == "day" and order.placed_at < index and self._trading_day(order) < day:
                order.status, order.expired_at, order.updated_at = "expired", at, at
                self._record("expired", order, at)
        marks = self._last_close[index - 1]  # a symbol without a bar is held at its last close
        for match in self.books.match(index, bars.open[index], bars.high[index], bars.low[index], marks):
            order = match.order
            order.updated_at = at
            if not match.shares:
                order.status, order.failed_at = "rejected", at
                self._record("rejected", order, at)
                continue
            self._book(order, match.shares, match.price, match.held, at)
            if order.is_open and not order.in_two_parts:  # a market order shrunk for want of cash: the rest will not fill
                order.status, order.canceled_at = "canceled", at
                self._record("canceled", order, at)

    def _trading_day(self, order: Order):
        """The New York date of the first bar the order could fill on."""
        return self.clock.timeline[min(order.placed_at + 1, len(self.clock.timeline) - 1)].tz_convert(EXCHANGE_ZONE).date()

    def _book(self, order: Order, filled: float, fill_price: float, held: float, at: pd.Timestamp) -> None:
        """A fill of `filled` shares at `fill_price` leaving `held` shares of the symbol (the books have it)."""
        basis = self.cost_basis.get(order.symbol, 0.0)
        if order.side == "buy":
            basis += filled * fill_price
        else:
            basis *= held / (held + filled)  # what is left of the shares held before the sale
        if held == 0.0:
            self.cost_basis.pop(order.symbol, None)
        else:
            self.cost_basis[order.symbol] = basis
        paid = order.filled_qty * (order.filled_avg_price or 0.0) + filled * fill_price
        order.filled_qty += filled
        order.filled_avg_price = paid / order.filled_qty
        if order.remaining_qty:
            order.status = "partially_filled"
        else:
            order.status, order.filled_at = "filled", at
        self._record("partial_fill" if order.remaining_qty else "fill", order, at, fill=(fill_price, filled, held))

    def _record(self, event: str, order: Order, at: pd.Timestamp, fill: tuple[float, float, float] | None = None) -> None:
        """A trade update as Alpaca's stream sends it; a fill's carries its price, shares and the position after it."""
        update = {"event": event, "timestamp": timestamp(at), "order": self.order_json(order)}
        if fill is not None:
            price, qty, position_qty = fill
            update |= {
                "execution_id": self._new_id(),
                "price": money(price),
                "qty": money(qty),
                "position_qty": money(position_qty),
            }
        self.trade_updates.append(update)
        self.changed.beat()

    # -- orders and positions

    def place(self, body: dict) -> Order:
        """A new order from an order request's body: validated, covered by the account, then open (or
        rejected by the `reject` fault)."""
        self.catch_up()
        order = self._new_order(body)
        self._check_cover(order)
        self.orders.append(order)
        if self.faults.hits("reject"):
            order.status, order.failed_at = "rejected", order.submitted_at
            self._record("rejected", order, order.submitted_at)
        else:
            self.books.place(order)
            self._record("new", order, order.submitted_at)
        return order

    def cancel(self, order: Order) -> None:
        if not order.is_open:
            raise AlpacaError(422, UNPROCESSABLE, f'order is already in "{order.status}" state')
        self._cancel(order)

    def by_client_order_id(self, client_order_id: str) -> Order:
        for order in self.orders:
            if order.client_order_id == client_order_id:
                return order
        raise AlpacaError(404, NOT_FOUND, "order not found")

    def summary(self) -> dict:
        """The account as Alpaca's `/v2/account` shows it."""
        market_value = sum(self._market_value(symbol) for symbol in self.held())
        equity, buying_power = self.cash + market_value, money(self._buying_power())
        return {
            "id": self._account_id,
            "account_number": "SANDBOX",
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "cash": money(self.cash),
            "buying_power": buying_power,
            "regt_buying_power": buying_power,
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": buying_power,
            "accrued_fees": "0",
            "portfolio_value": money(equity),
            "equity": money(equity),
            "last_equity": money(equity),
            "long_market_value": money(market_value),
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": self.rules.allow_short,
            "daytrade_count": 0,
            "created_at": timestamp(self.clock.timeline[0]),
        }

    def _new_order(self, body: dict) -> Order:
        symbol = str(body.get("symbol", "")).upper()
        if symbol not in self.clock.bars.symbols:
            raise invalid(f"asset {symbol!r} is not traded in this sandbox")
        side, kind, time_in_force = body.get("side"), body.get("type", "market"), body.get("time_in_force")
        if side not in ("buy", "sell"):
            raise invalid(f"invalid side: {side!r} (buy or sell)")
        if kind not in ("market", "limit"):
            raise invalid(f"invalid order type: {kind!r} (the sandbox takes market and limit orders)")
        if time_in_force not in TIMES_IN_FORCE:
            raise invalid(f"invalid time_in_force: {time_in_force!r} (the sandbox takes {' or '.join(TIMES_IN_FORCE)})")
        qty, notional = _positive(body, "qty"), _positive(body, "notional")
        if (qty is None) == (notional is None):
            raise invalid("qty or notional is required, not both")
        if notional is not None and kind != "market":
            raise invalid("notional orders must be market orders")
        limit_price = _positive(body, "limit_price")
        if (kind == "limit") != (limit_price is not None):
            raise invalid("limit_price is required for limit orders, and only for them")
        client_order_id = body.get("client_order_id") or self._new_id()
        if not isinstance(client_order_id, str) or len(client_order_id) > 128:
            raise invalid("client_order_id must be text of at most 128 characters")
        if any(order.client_order_id == client_order_id for order in self.orders):
            raise invalid("client_order_id must be unique")
        now = self.clock.state()["timestamp"]
        return Order(
            self._new_id(),
            client_order_id,
            symbol,
            self.clock.bars.symbols.index(symbol),
            side,
            kind,
            time_in_force,
            qty,
            notional,
            limit_price,
            self.clock.released,
            now,
            now,
            in_two_parts=qty is not None and self.faults.hits("partial"),
        )

    def _check_cover(self, order: Order) -> None:
        """Refuse what the account cannot cover at the last price (fills check again at the open)."""
        if order.side == "buy":
            if self._reserved(order) > self._buying_power():
                raise AlpacaError(403, FORBIDDEN, "insufficient buying power")
            return
        price = order.limit_price or self._last_price(order.symbol)
        shares = order.qty if order.qty is not None else order.notional / price
        available = self._qty_available(order.symbol)
        if shares > available:
            raise AlpacaError(
                403, FORBIDDEN, f"insufficient qty available for order (requested: {shares}, available: {available})"
            )

    def _reserved(self, order: Order) -> float:
        """What a buy holds back from buying power: its notional at its limit, or at the last close with
        slippage, and its commission."""
        if order.notional is not None:
            notional = order.notional
        elif order.type == "limit":
            notional = order.remaining_qty * order.limit_price
        else:
            notional = order.remaining_qty * self._last_price(order.symbol) * (1.0 + self.rules.slippage)
        return notional + max(notional * self.rules.commission, self.rules.min_commission)

    def _buying_power(self) -> float:
        """Cash, with what open sells bring at the last close, less what open buys hold back."""
        open_orders = self.books.open_orders
        held_back = sum(self._reserved(order) for order in open_orders if order.side == "buy")
        return self.cash + sum(self._proceeds(order) for order in open_orders if order.side == "sell") - held_back

    def _proceeds(self, order: Order) -> float:
        """What a sell brings at the last close, less slippage and commission."""
        price = self._last_price(order.symbol)
        notional = order.notional if order.notional is not None else order.remaining_qty * price * (1.0 - self.rules.slippage)
        return notional - max(notional * self.rules.commission, self.rules.min_commission)

    def _qty_available(self, symbol: str) -> float:
        held = self._qty(symbol)
        selling = sum(
            order.remaining_qty if order.qty is not None else order.notional / self._last_price(symbol)
            for order in self.books.open_orders
            if order.side == "sell" and order.symbol == symbol
        )
        return held - selling

    def _last_price(self, symbol: str) -> float:
        return float(self._last_close[self.clock.released, self.clock.bars.symbols.index(symbol)])

    @property
    def cash(self) -> float:
        return self.books.cash

    def _qty(self, symbol: str) -> float:
        return float(self.books.position[self.clock.bars.symbols.index(symbol)])

    def held(self) -> list[str]:
        """The symbols the account holds shares of."""
        return [symbol for symbol, shares in self.books.holdings().items() if shares != 0.0]

    def _market_value(self, symbol: str) -> float:
        return self._qty(symbol) * self._last_price(symbol)

    def position_json(self, symbol: str) -> dict:
        qty, cost_basis, price = self._qty(symbol), self.cost_basis[symbol], self._last_price(symbol)
        market_value = qty * price
        return {
            "asset_id": _asset_id(symbol),
            "symbol": symbol,
            "exchange": EXCHANGE,
            "asset_class": "us_equity",
            "asset_marginable": False,
            "avg_entry_price": money(cost_basis / qty),
            "qty": money(qty),
            "qty_available": money(self._qty_available(symbol)),
            "side": "long",
            "market_value": money(market_value),
            "cost_basis": money(cost_basis),
            "unrealized_pl": money(market_value - cost_basis),
            "unrealized_plpc": money(market_value / cost_basis - 1.0),
            "current_price": money(price),
        }

    def order(self, order_id: str) -> Order:
        for order in self.orders:
            if order.id == order_id:
                return order
        raise AlpacaError(404, NOT_FOUND, "order not found")

    def order_json(self, order: Order) -> dict:
        return order.json(_asset_id(order.symbol))

    def _cancel(self, order: Order) -> None:
        now = self.clock.state()["timestamp"]
        order.status, order.canceled_at, order.updated_at = "canceled", now, now
        self._record("canceled", order, now)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))


def _positive(body: dict, name: str) -> float | None:
    """A number the SDK sends as a number or a string; None when absent."""
    value = body.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0:
        raise invalid(f"invalid {name}: {value!r} (a positive number)")
    return number


def _first_part(shares: float) -> float:
    """Half an order's shares, in whole shares when it names whole shares."""
    half = shares / 2.0
    return float(int(half)) if shares == int(shares) and shares >= 2.0 else half


def _optional(write, value):
    return None if value is None else write(value)


def _asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"engine-sandbox:{symbol}"))
