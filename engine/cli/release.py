"""`engine release`: immutable, versioned packages of a backtest run, what paper trading runs from."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.analytics.formatting import format_metric
from engine.cli.output import WARNING, Column, ListJson, print_json_line, print_labelled, print_line, print_metrics, print_table
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)

ReleaseArgument = Annotated[str, typer.Argument(help="NAME@N, or NAME for its latest version")]

RELEASE_COLUMNS = [
    Column("release", identifier=True),
    Column("strategy", keep=4),
    Column("run", keep=2),
    Column("created", keep=1),
    Column("total return", "right", keep=7, short="return"),
    Column("sharpe", "right", keep=6),
    Column("max drawdown", "right", keep=5, short="max dd"),
]


@app.command("create")
def create(
    run: Annotated[str, typer.Argument(help="A finished backtest run: its id, a unique prefix of one, or `latest`")],
    name: Annotated[
        str, typer.Option("--name", help="The release's name; each create makes its next version, NAME@1, NAME@2, ...")
    ],
    retrain: Annotated[
        bool, typer.Option("--retrain", help="A paper session from it retrains the deployed model on the strategy's schedule")
    ] = False,
) -> None:
    """Package a backtest run as the next version of a release: the strategy as run, every fold's
    trained model, the run's metrics, report and provenance, each file checksummed, read-only."""
    from engine.usecases.release import create_release

    release = create_release(Workspace.from_env(), run, name, retrain)
    print_line(f"{release.reference}  {release.path}")
    print_line(f"{len(release.record['files'])} files from run {release.record['run']} ({release.record['strategy']})")


@app.command("list")
def list_(json: ListJson = False) -> None:
    """Every version of every release; a damaged one is listed as such, and a line on standard error says why."""
    summaries = Workspace.from_env().releases.list()
    if json:
        print_json_line(
            [{"release": s.reference, "path": str(s.path), "problem": s.problem, **_brief(s.release)} for s in summaries]
        )
    else:
        rows = []
        for summary in summaries:
            brief = _brief(summary.release)
            rows.append(
                [
                    summary.reference,
                    brief.get("strategy", "damaged"),
                    brief.get("run", ""),
                    brief.get("created_at", ""),
                    *(
                        format_metric(name, brief.get("metrics", {}).get(name))
                        for name in ("total_return", "sharpe", "max_drawdown")
                    ),
                ]
            )
        print_table(RELEASE_COLUMNS, rows, more="see `engine release show NAME@N`")
    for summary in summaries:
        if summary.problem:
            print_labelled(WARNING, summary.problem)


def _brief(release) -> dict:
    if release is None:
        return {}
    return {key: release.record[key] for key in ("strategy", "run", "created_at", "metrics", "retrain", "deployed")}


@app.command("show")
def show(reference: ReleaseArgument, json: ListJson = False) -> None:
    """A release's provenance, metrics and files (checked against their checksums)."""
    release = Workspace.from_env().releases.get(reference)
    record = release.record
    if json:
        print_json_line({"release": release.reference, "path": str(release.path), **record})
        return
    print_line(f"{release.reference}  {release.path}")
    print_line(f"strategy {record['strategy']} from run {record['run']}, made {record['created_at']}")
    data = record["data"]
    print_line(f"data {record['timeframe']} bars of {', '.join(record['symbols'])}, {data['first'][:10]} to {data['last'][:10]}")
    print_line(f"data fingerprint {data['fingerprint']}")
    if record["folds"]:
        retraining = "retrains on the strategy's schedule" if record["retrain"] else "trades it for every later bar"
        deployed = record["deployed"]
        models = f"model {deployed}" if isinstance(deployed, str) else f"models {', '.join(deployed)} (one per symbol)"
        print_line(f"{len(record['folds'])} walk-forward folds; deployed {models} ({retraining})")
    print_metrics("metrics", {record["strategy"]: record["metrics"]})
    print_line(f"{len(record['files'])} files, each matching its SHA-256")


@app.command("verify")
def verify(reference: ReleaseArgument) -> None:
    """Rebuild the release's backtest from its package alone (an empty workspace with the same bars,
    no fold trained anew) and check that its metrics are the run's."""
    from engine.usecases.release import verify_release

    verification = verify_release(Workspace.from_env(), reference)
    print_line(f"{verification.release.reference}: every file matches its checksum; rebuilt from the package alone")
    print_line(f"metrics equal to run {verification.release.record['run']}'s: {len(verification.metrics)} of them")
