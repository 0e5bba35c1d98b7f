"""The `engine` command: a thin face over the Python API."""

from __future__ import annotations

import sys

import typer

from engine.cli import backtest, data, runs
from engine.cli.output import stderr
from engine.errors import USER_ERRORS

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Event-driven trading research and backtesting.")
app.command("backtest")(backtest.backtest)
app.command("check")(backtest.check)
app.add_typer(data.app, name="data", help="The local bar store: import, list, sample data.")
app.add_typer(runs.app, name="runs", help="Past runs in the run store.")


def main() -> None:
    try:
        app(standalone_mode=False)
    except USER_ERRORS as error:
        stderr.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(2)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        stderr.print("aborted")
        sys.exit(130)
    except Exception as error:  # click's usage errors
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
