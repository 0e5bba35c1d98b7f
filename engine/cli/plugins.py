from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.markup import escape

from engine.cli.output import ALWAYS, Column, ListJson, print_json_line, print_labelled, print_line, print_table, stdout
from engine.plugins.registry import PluginError, PluginRegistry
from engine.plugins.scaffold import NETWORKS, network_for, scaffold_model_plugin
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


PLUGIN_COLUMNS = [
    Column("name", identifier=True),
    Column("kind", keep=ALWAYS),
    Column("origin", keep=1),
    Column("version", keep=3),
    Column("module", keep=2),
]


@app.command("list")
def list_(json: ListJson = False) -> None:
    """Every plugin-provided model, feature provider, overlay, feed, broker and strategy; and any that failed."""
    plugins = Workspace.from_env().registry
    if json:
        entries = [dataclasses.asdict(entry) for entry in plugins.entries]
        print_json_line([*entries, *({"failed": True} | dataclasses.asdict(failure) for failure in plugins.failures)])
        return
    rows = [
        [entry.name, entry.kind, entry.origin, entry.version, entry.module]
        for entry in sorted(plugins.entries, key=lambda e: (e.kind, e.name))
    ]
    print_table(PLUGIN_COLUMNS, rows, more="see `engine plugins show NAME`")
    _print_failures(plugins)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="A plugin-provided name, as `engine plugins list` shows it")]) -> None:
    """Everything provided under NAME (a model, an overlay, …): kind, origin in full, version, module."""
    plugins = Workspace.from_env().registry
    found = [entry for entry in plugins.entries if entry.name == name]
    if not found:
        raise PluginError(f"no plugin provides {name!r} (see `engine plugins list`)")
    for entry in sorted(found, key=lambda e: e.kind):
        stdout.print(f"[bold]{escape(entry.name)}[/] {entry.kind}", highlight=False)
        fields = [("origin", entry.origin), ("version", entry.version), ("module", entry.module)]
        if entry.kind == "strategy":
            fields.append(("file", plugins.get(entry.kind, entry.name)))
        for field, value in fields:
            print_line(f"  {field:<8}{value}")
    _print_failures(plugins)


def _print_failures(plugins: PluginRegistry) -> None:
    for failure in plugins.failures:
        where = escape(f"plugin {failure.plugin} ({failure.origin}) failed {failure.doing}:")
        print_labelled(f"[red]{where}[/]", failure.error)


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
    workspace = Workspace.from_env()
    plugin, test = scaffold_model_plugin(workspace.plugins, name, chosen, workspace.registry.entries)
    print_line(f"created {plugin}: {NETWORKS[chosen].description}")
    for line in (f"created {test}", f"run its test: python -m pytest {test}"):
        print_line(line)
