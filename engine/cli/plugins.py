from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engine.cli.output import stderr, stdout
from engine.plugins.registry import registry
from engine.plugins.scaffold import NETWORKS, network_for, scaffold_model_plugin
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """Every plugin-provided model, feature provider, overlay, feed, broker and strategy; and any that failed."""
    plugins = registry()
    table = Table("name", "kind", "origin", "version", "module")
    for entry in sorted(plugins.entries, key=lambda e: (e.kind, e.name)):
        table.add_row(entry.name, entry.kind, entry.origin, entry.version, entry.module)
    stdout.print(table)
    for failure in plugins.failures:
        stderr.print(f"[red]plugin {failure.plugin} ({failure.origin}) failed:[/] {failure.error}", highlight=False)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Model name: a Python identifier, like my_tcn")],
    network: Annotated[
        str | None,
        typer.Option(help=f"The network to start from: {', '.join(NETWORKS)} [default: the one NAME names, else lstm]"),
    ] = None,
) -> None:
    """Scaffold a model plugin in $ENGINE_HOME/plugins/, with a test that trains and checks it."""
    chosen = network_for(name, network)
    plugin, test = scaffold_model_plugin(Workspace.from_env().root / "plugins", name, chosen)
    stdout.print(f"created {plugin}: {NETWORKS[chosen].description}", highlight=False, soft_wrap=True)
    stdout.print(f"created {test}\nrun its test: python -m pytest {test}", highlight=False)
