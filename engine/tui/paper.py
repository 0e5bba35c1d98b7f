"""A paper session: its state after the last live bar (equity, cash, positions, fills, a halt), its
orders as the journal holds them, the journal's log (each bar's decision and each fill, newest first)
and the differences reconciliation found, refreshed while it runs. `x` stops it and `k` trips its
kill switch, each after a confirmation; Enter opens its results once it has finished; Esc goes back."""

from __future__ import annotations

from contextlib import closing

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine.analytics.formatting import format_metric
from engine.stores.order_journal import OrderJournal
from engine.stores.runs import RunStore
from engine.tui.confirm import Confirm
from engine.tui.live import LiveScreen
from engine.usecases.paper_control import JOURNAL, live_state, paper_run, request_halt, request_stop

ORDER_COLUMNS = ("client order id", "symbol", "qty", "target", "status", "filled", "avg price", "reason")
LOG_COLUMNS = ("at", "event", "detail")
DIFFERENCE_COLUMNS = ("at", "field", "ledger", "broker")


class PaperScreen(LiveScreen):
    DEFAULT_CSS = """
    #state { height: auto; padding: 0 1; }
    #orders { height: 1fr; }
    #log { height: 1fr; }
    #differences { height: 8; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("x", "stop", "Stop", tooltip="Stop the session"),
        Binding("k", "halt", "Kill", tooltip="Trip the kill switch"),
        Binding("enter", "results", "Results"),
    ]

    def __init__(self, runs: RunStore, run_id: str) -> None:
        super().__init__()
        self.runs, self.run_id = runs, run_id

    def compose_body(self) -> ComposeResult:
        yield Static(id="state")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="log", cursor_type="row")
        yield DataTable(id="differences", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#orders", DataTable).add_columns(*ORDER_COLUMNS)
        self.query_one("#log", DataTable).add_columns(*LOG_COLUMNS)
        self.query_one("#differences", DataTable).add_columns(*DIFFERENCE_COLUMNS)
        self.start_refreshing()

    def refresh_live(self) -> None:
        _, status = paper_run(self.runs, self.run_id)
        self.status = status["status"]
        self.title = f"paper session {self.run_id}"
        self.describe(f"{status['strategy']}: {self.status}")
        self.query_one("#state", Static).update(_describe(live_state(self.runs, self.run_id)))
        journal_path = self.runs.path(self.run_id) / JOURNAL
        orders, log, differences = [], [], []
        if journal_path.exists():  # an alpaca session's; a dry run has none
            with closing(OrderJournal(journal_path)) as journal:
                orders, log, differences = journal.orders(), _log(journal), journal.differences()
        table = self.query_one("#orders", DataTable)
        table.clear()
        for order in orders:
            average = "" if order.filled_avg_price is None else f"{order.filled_avg_price:,.4f}"
            cells = (order.client_order_id, order.symbol, f"{order.qty:g}", f"{order.target_weight:g}", order.status,
                     f"{order.filled_qty:g}", average, order.reason or "")  # fmt: skip
            table.add_row(*cells)
        logged = self.query_one("#log", DataTable)
        logged.clear()
        for entry in log:
            logged.add_row(*entry)
        found = self.query_one("#differences", DataTable)
        found.clear()
        for at, field, ledger, broker in differences:
            found.add_row(at, field, f"{ledger:,.6g}", f"{broker:,.6g}")

    def action_stop(self) -> None:
        self._ask(f"Stop session {self.run_id} after the bar it is on?", lambda: request_stop(self.runs, self.run_id))

    def action_halt(self) -> None:
        question = f"Trip the kill switch of {self.run_id}: cancel its open orders and send no more?"
        self._ask(question, lambda: request_halt(self.runs, self.run_id))

    def _ask(self, question: str, then) -> None:
        if self.status != "running":
            self.notify(f"session {self.run_id} is {self.status}, not running", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                then()
                self.notify("asked; the session acts on it within a second")

        self.app.push_screen(Confirm(question), answered)

    def action_results(self) -> None:
        self.app.open_run(self.run_id, details=True)


def _log(journal: OrderJournal) -> list[tuple[str, str, str]]:
    """Each bar's decision (its closes and final weights) and each fill, newest first; a fill stamped
    with a bar's open came before that bar's decision, made at its close."""
    entries = []
    for bar, inputs, outputs in journal.decisions():
        final = list(outputs.values())[-1]
        weights = ", ".join(f"{symbol} {weight:g}" for symbol, weight in final.items())
        closes = ", ".join(f"{symbol} {price:,.2f}" for symbol, price in inputs["close"].items())
        entries.append((bar, 1, "decided", f"weights {weights} at closes {closes}"))
    for client_order_id, stamp, qty, price, fees in journal.fills():
        side = "bought" if qty > 0 else "sold"
        detail = f"{side} {abs(qty):g} at {price:,.4f}, fees {fees:,.2f} ({client_order_id})"
        entries.append((stamp, 0, "filled", detail))
    return [(at, event, detail) for at, _, event, detail in sorted(entries, reverse=True)]


def _describe(state: dict | None) -> str:
    if state is None:
        return "no live bar yet"
    held = ", ".join(f"{symbol} {shares:g}" for symbol, shares in state["positions"].items() if shares) or "none"
    lines = [
        f"after {state['live_bars']} live bars, the last at {state['bar']}",
        f"equity {format_metric('final_equity', state['equity'])}   cash {format_metric('final_equity', state['cash'])}   "
        f"positions {held}   fills {state['fills']}",
    ]
    if state.get("halted"):
        lines.append(f"[b red]trading halted:[/] {state['halted']}")
    return "\n".join(lines)
