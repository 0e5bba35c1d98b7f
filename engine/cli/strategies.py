from __future__ import annotations

import typer
from rich.markup import escape

from engine.cli.output import ALWAYS, Column, ListJson, print_json_line, print_labelled, print_table
from engine.strategies.files import read_strategy, strategy_entries
from engine.strategies.schema import EnsembleSignal, ModelSignal, StrategyError
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


STRATEGY_COLUMNS = [
    Column("name", identifier=True),
    Column("signal", keep=ALWAYS),
    Column("symbols", keep=2),
    Column("timeframe", keep=1, short="tf"),
    Column("origin", keep=0),
]


@app.command("list")
def list_(json: ListJson = False) -> None:
    """Every strategy a name reaches: the workspace's, the built-ins and those plugins ship."""
    rows = []
    for entry in strategy_entries(Workspace.from_env()):
        row = {"name": entry.name, "origin": entry.origin, "path": str(entry.path)}
        row |= {"signal": None, "symbols": [], "timeframe": None}
        try:
            strategy = read_strategy(entry.path)
        except StrategyError as error:
            row["error"] = str(error)
        else:
            signal = strategy.signal
            row |= {
                "signal": _signal_label(signal),
                "symbols": list(strategy.data.symbols),
                "timeframe": strategy.data.timeframe,
            }
        rows.append(row)
    if json:
        print_json_line(rows)
        return
    cells = [
        [row["name"], row["signal"] or "invalid", ", ".join(row["symbols"]), row["timeframe"] or "", row["origin"]]
        for row in rows
    ]
    print_table(STRATEGY_COLUMNS, cells)
    for row in rows:
        if "error" in row:
            print_labelled(f"[red]strategy {escape(row['name'])} is invalid:[/]", row["error"])


def _signal_label(signal) -> str:
    if isinstance(signal, ModelSignal):
        return f"model {signal.plugin}"
    if isinstance(signal, EnsembleSignal):
        return f"ensemble of {', '.join(member.label for member in signal.members)}"
    return signal.kind
