"""`engine sandbox`: serve the workspace as a local Alpaca (engine.sandbox) until interrupted."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from engine.cli.backtest import symbol_list
from engine.cli.output import print_line
from engine.errors import UserError
from engine.workspace import Workspace


def sandbox(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one)")] = 8765,
    symbols: Annotated[
        str | None, typer.Option(callback=symbol_list, help="Comma-separated symbols to trade (default: all the store holds)")
    ] = None,
    timeframe: Annotated[str, typer.Option(help="Bars the clock replays and orders fill on (1d, 1h, …)")] = "1h",
    from_: Annotated[
        str | None,
        typer.Option("--from", help="YYYY-MM-DD: start the clock at the first bar on or after it (default: the first)"),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(min=0, help="Bars released at X times real time; 0: as fast as the streams' consumers take them"),
    ] = 0.0,
    step: Annotated[
        bool, typer.Option("--step", help="Release bars only through POST /admin/advance (not with --speed)")
    ] = False,
    faults: Annotated[str, typer.Option(help="Faults to inject, like rate_limit=0.2,drop_every=50 (docs/sandbox.md)")] = "",
    seed: Annotated[int, typer.Option(help="Seed of order and account ids, and of the faults")] = 0,
) -> None:
    """Serve Alpaca's trading and market-data REST and its websocket streams on loopback, from the
    workspace's bar and news stores, for alpaca-py clients given `url_override`. Any key pair is
    accepted and none is logged."""
    from engine.sandbox.app import SandboxOptions, sandbox_app
    from engine.sandbox.faults import Faults, FaultSpecError
    from engine.sandbox.server import base_url, bind, serve

    if step and speed:
        raise UserError("give --speed or --step, not both")
    start = None if from_ is None else _date(from_)
    try:
        injected = Faults.parse(faults)
    except FaultSpecError as error:
        raise UserError(f"--faults: {error}") from None
    options = SandboxOptions(tuple(symbols or ()), timeframe, start, None if step else speed, seed, faults=injected)
    app = sandbox_app(Workspace.from_env(), options)
    try:
        listener = bind(port)
    except OSError as error:
        raise UserError(f"--port {port}: cannot listen on 127.0.0.1 ({error.strerror})") from None
    url = base_url(listener)
    streams = url.replace("http://", "ws://", 1)
    print_line(f"engine sandbox on {url} (url_override for alpaca-py's REST clients); Ctrl-C stops it")
    print_line(f"streams: {streams}/v2/iex and {streams}/v2/sip (bars), {streams}/stream (trade updates)")
    if options.faults.describe():
        print_line(f"faults: {options.faults.describe()} (seed {seed})")
    serve(app, listener)


def _date(text: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text, tz="UTC")
    except ValueError:
        raise UserError(f"--from {text!r}: give a date, like 2021-03-01") from None
