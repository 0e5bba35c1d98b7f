"""`engine paper`: a paper session, the backtested pipeline trading live bars (engine.usecases.paper); and
`engine paper list`, `status` and `stop` from another terminal."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated

import typer

from engine.analytics.formatting import format_metric
from engine.cli.backtest import STRATEGY_HELP, KillSwitchOption, SymbolsOption
from engine.cli.output import WARNING, ListJson, print_json_line, print_labelled, print_line, print_metrics
from engine.cli.progress_display import StageDisplay
from engine.cli.runs import print_runs
from engine.errors import UserError
from engine.progress import listening
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=False)


@app.callback(invoke_without_command=True)
def paper(
    context: typer.Context,
    strategy: Annotated[str | None, typer.Option("--strategy", "-s", help=STRATEGY_HELP)] = None,
    release: Annotated[
        str | None, typer.Option(help="Trade exactly this release (NAME@N, or NAME: its latest): its strategy and trained models")
    ] = None,
    session: Annotated[
        str | None, typer.Option(help="Resume this session (its run id, or a unique prefix) instead of starting one")
    ] = None,
    broker: Annotated[
        str, typer.Option(help="Who fills the orders: alpaca (the paper account), or sim (a dry run; no orders sent)")
    ] = "alpaca",
    symbols: SymbolsOption = None,
    max_bars: Annotated[int | None, typer.Option(min=1, help="Live bars to trade before the session ends")] = None,
    until: Annotated[str | None, typer.Option(help="End after the first bar starting at or after this time (UTC)")] = None,
    kill_switch: KillSwitchOption = "",
    feed: Annotated[str, typer.Option(help="Alpaca's data feed: iex or sip")] = "iex",
    settle: Annotated[float, typer.Option(min=0, help="Seconds after a bar's close before it is fetched")] = 0.0,
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between looks while the live stream is quiet")] = 60.0,
    json: Annotated[
        bool, typer.Option("--json", help="End standard output with one JSON line: run_id, run_dir, metrics")
    ] = False,
) -> None:
    """Trade a strategy on live bars from Alpaca (or ENGINE_ALPACA_URL's `engine sandbox`) until
    --max-bars, Ctrl-C or `engine paper stop`, after warming it up on its stored history; store the
    session as a run."""
    if context.invoked_subcommand is not None:
        return
    if (strategy is None) == (release is None):
        raise UserError(
            "engine paper: give the strategy to trade, --strategy NAME or --release NAME@N (or a command: list, status, stop)"
        )
    if release is not None and symbols:
        raise UserError("engine paper --release: a release trades the symbols it was made for; leave out --symbols")
    with StageDisplay() as display, listening(display):
        display.stage("loading the trading libraries")
        import pandas as pd

        from engine.alpaca.connection import AlpacaConnection
        from engine.data.timestamps import parse_utc
        from engine.execution.alpaca import CRASH_VARIABLE
        from engine.feeds.alpaca import LiveSettings
        from engine.kernel.risk import parse_kill_switch
        from engine.strategies.resolution import strategy_with_overrides
        from engine.usecases.paper import PaperSession, check_broker
        from engine.usecases.release import traded_strategy

        check_broker(broker)
        if feed not in ("iex", "sip"):
            raise UserError(f"--feed {feed}: use iex or sip")
        end = None if until is None else parse_utc(until)
        if until is not None and end is None:
            raise UserError(f"--until {until!r}: give a time like 2024-03-01T15:00 (UTC)")
        settings = LiveSettings(pd.Timedelta(seconds=settle), poll, max_bars, end, feed)
        workspace = Workspace.from_env()
        risk = parse_kill_switch(kill_switch)
        released = None if release is None else workspace.releases.get(release)
        session = PaperSession(
            strategy_with_overrides(strategy, workspace, symbols, risk=risk)
            if released is None
            else traded_strategy(released, workspace, risk),
            workspace,
            AlpacaConnection.from_env(),
            settings,
            sys.argv,
            broker,
            session,
            os.environ.get(CRASH_VARIABLE),
            released,
        )
        display.stage(f"trading {session.resolved.name} on live bars (Ctrl-C ends the session)", max_bars, "bar")
        previous = signal.signal(signal.SIGINT, lambda *_: session.stop())
        try:
            result, run_id = session.run(on_bar=lambda bars: display.advance(1))
        finally:
            signal.signal(signal.SIGINT, previous)
    for warning in result.warnings:
        print_labelled(WARNING, warning)
    run_dir = Workspace.from_env().runs.path(run_id)
    if json:
        print_json_line({"run_id": run_id, "run_dir": str(run_dir), "metrics": result.metrics, "baselines": result.baselines})
        return
    config = result.strategy
    period = f"{result.metrics['start']} to {result.metrics['end']}"
    print_metrics(
        f"{config.name} paper session ({broker} broker) on {', '.join(config.data.symbols)} ({config.data.timeframe}, {period})",
        {config.name: result.metrics, **result.baselines},
    )
    print_line(f"session {run_id} stored in {run_dir}")


SessionArgument = Annotated[str, typer.Argument(help="A paper session's run id, a unique prefix of one, or `latest`")]


@app.command("list")
def list_(json: ListJson = False) -> None:
    """Paper sessions in the run store, oldest first, running ones too."""
    sessions = [run for run in Workspace.from_env().runs.list() if run.kind == "paper"]
    if json:
        print_json_line([run.to_json() for run in sessions])
    else:
        print_runs(sessions)


@app.command("status")
def status(session: SessionArgument = "latest", json: ListJson = False) -> None:
    """A session's status and, after its last live bar, its equity, cash, positions and fills."""
    from engine.usecases.paper_control import live_state, paper_run

    runs = Workspace.from_env().runs
    run_id, journal = paper_run(runs, session)
    state = live_state(runs, run_id)
    if json:
        print_json_line({"run_id": run_id, "status": journal["status"], "live": state})
        return
    print_line(f"session {run_id}: {journal['status']}, strategy {journal['strategy']}")
    if state is None:
        print_line("no live bar yet")
        return
    held = ", ".join(f"{symbol} {shares:g}" for symbol, shares in state["positions"].items() if shares) or "none"
    print_line(f"after {state['live_bars']} live bars, the last at {state['bar']}:")
    print_line(f"equity {format_metric('final_equity', state['equity'])}, cash {format_metric('final_equity', state['cash'])}")
    print_line(f"positions {held}; {state['fills']} fills")
    if state.get("halted"):
        print_line(f"trading halted: {state['halted']}")


@app.command("stop")
def stop(
    session: SessionArgument,
    flatten: Annotated[bool, typer.Option("--flatten", help="Also cancel its open orders and sell what it holds")] = False,
) -> None:
    """Ask a running session to end after the bar it is on; it then stores its results."""
    from engine.usecases.paper_control import request_stop

    run_id = request_stop(Workspace.from_env().runs, session, flatten)
    also = ", cancel its open orders and sell its positions" if flatten else ""
    print_line(f"asked session {run_id} to stop after its current bar{also}")


@app.command("halt")
def halt(session: SessionArgument) -> None:
    """Trip a running session's kill switch: it cancels its open orders and sends no more, but keeps marking its books."""
    from engine.usecases.paper_control import request_halt

    run_id = request_halt(Workspace.from_env().runs, session)
    print_line(f"asked session {run_id} to halt trading")
