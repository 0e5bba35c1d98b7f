"""The `engine` command: a thin face over the Python API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine import __version__
from engine.cli import (
    backtest,
    data,
    models,
    news,
    optimize,
    paper,
    plugins,
    release,
    report,
    runs,
    sandbox,
    strategies,
    train,
    tui,
)
from engine.cli.output import ERROR, print_labelled
from engine.errors import UserError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    help="Event-driven trading research and backtesting.",
)


def _print_version(asked: bool) -> None:
    if asked:
        print(f"engine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Event-driven trading research and backtesting."""


app.command("backtest")(backtest.backtest)
app.command("check")(backtest.check)
app.command("train")(train.train)
app.command("report")(report.report)
app.command("sandbox")(sandbox.sandbox)
app.command("tui")(tui.tui)
app.add_typer(paper.app, name="paper", help="Paper trading: a session on live bars; list, status and stop sessions.")
app.add_typer(data.app, name="data", help="The local bar store: import, list, remove, sample data.")
app.add_typer(news.app, name="news", help="The local news store: fetch from Alpaca, import, list.")
app.add_typer(runs.app, name="runs", help="Past runs in the run store: list, show, remove.")
app.add_typer(strategies.app, name="strategies", help="The strategies a name reaches.")
app.add_typer(optimize.app, name="optimize", help="Tune a strategy with Optuna; show and export a study.")
app.add_typer(release.app, name="release", help="Releases: immutable, versioned packages of a backtest run to trade from.")
app.add_typer(models.app, name="models", help="Trained walk-forward folds: prune those no strategy uses.")
app.add_typer(plugins.app, name="plugins", help="Installed and drop-in plugins; scaffold a new model plugin.")


def main() -> None:
    try:
        app()
    except UserError as error:
        print_labelled(ERROR, str(error))
        sys.exit(2)
    except OSError as error:
        if error.filename is None:
            raise
        # The machine refused a file (a workspace that cannot be created, no permission, a full disk):
        # the user's to fix, so one line naming the file.
        print_labelled(ERROR, f"{error.filename}: {error.strerror or error}")
        sys.exit(2)
