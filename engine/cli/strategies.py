from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engine.cli.output import print_json_line, stderr, stdout
from engine.strategy import ModelSignal, StrategyError
from engine.strategy_files import load_strategy, strategy_entries

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(json: Annotated[bool, typer.Option("--json", help="Print one JSON array instead of a table")] = False) -> None:
    """Every strategy a name reaches: the workspace's, the built-ins and those plugins ship."""
    rows = []
    for entry in strategy_entries():
        row = {"name": entry.name, "origin": entry.origin, "path": str(entry.path)}
        row |= {"signal": None, "symbols": [], "timeframe": None}
        try:
            strategy = load_strategy(str(entry.path))
        except StrategyError as error:
            row["error"] = str(error)
        else:
            signal = strategy.signal
            row |= {
                "signal": f"model {signal.plugin}" if isinstance(signal, ModelSignal) else signal.kind,
                "symbols": list(strategy.data.symbols),
                "timeframe": strategy.data.timeframe,
            }
        rows.append(row)
    if json:
        print_json_line(rows)
        return
    table = Table("name", "signal", "symbols", "timeframe", "origin")
    for row in rows:
        table.add_row(row["name"], row["signal"] or "[red]invalid[/]", ", ".join(row["symbols"]), row["timeframe"], row["origin"])
    stdout.print(table)
    for row in rows:
        if "error" in row:
            stderr.print(f"[red]strategy {row['name']} is invalid:[/] {row['error']}", highlight=False, soft_wrap=True)
