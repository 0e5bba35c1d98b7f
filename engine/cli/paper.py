"""`engine paper`: a paper session, the backtested pipeline trading live bars (engine.paper)."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from engine.cli.backtest import StrategyOption
from engine.cli.output import WARNING, print_json_line, print_labelled, print_line, print_metrics
from engine.cli.progress_display import StageDisplay
from engine.progress import listening
from engine.workspace import Workspace


def paper(
    strategy: StrategyOption,
    broker: Annotated[str, typer.Option(help="Who fills the orders: sim (a dry run on live bars; no orders sent)")] = "sim",
    max_bars: Annotated[int | None, typer.Option(min=1, help="Live bars to trade before the session ends")] = None,
    feed: Annotated[str, typer.Option(help="Alpaca's data feed: iex or sip")] = "iex",
    settle: Annotated[float, typer.Option(min=0, help="Seconds after a bar's close before it is fetched")] = 0.0,
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between looks while the live stream is quiet")] = 60.0,
    json: Annotated[
        bool, typer.Option("--json", help="End standard output with one JSON line: run_id, run_dir, metrics")
    ] = False,
) -> None:
    """Trade a strategy on live bars from Alpaca (or ENGINE_ALPACA_URL's `engine sandbox`) until
    --max-bars or Ctrl-C, after warming it up on its stored history; store the session as a run."""
    with StageDisplay() as display, listening(display):
        display.stage("loading the trading libraries")
        import pandas as pd

        from engine.alpaca.connection import AlpacaConnection
        from engine.errors import UserError
        from engine.feeds.alpaca import LiveSettings
        from engine.paper import BROKERS, PaperSession
        from engine.resolution import resolve_strategy
        from engine.strategy_files import load_strategy

        if broker not in BROKERS:
            raise UserError(f"--broker {broker}: the brokers are {', '.join(BROKERS)} (orders to Alpaca are not built yet)")
        if feed not in ("iex", "sip"):
            raise UserError(f"--feed {feed}: use iex or sip")
        settings = LiveSettings(pd.Timedelta(seconds=settle), poll, max_bars, feed)
        session = PaperSession(
            resolve_strategy(load_strategy(strategy)), Workspace.from_env(), AlpacaConnection.from_env(), settings, sys.argv
        )
        display.stage(f"trading {session.resolved.name} on live bars (Ctrl-C ends the session)", max_bars, "bars")
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
