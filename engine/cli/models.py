from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.output import print_json_line, print_line, stdout
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("prune")
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON array of the folds instead of lines")] = False,
) -> None:
    """Delete trained folds that no strategy refers to (a study's trials, edited strategies, replaced data)."""
    from engine.models.prune import remove_folds, unreferenced_folds

    workspace = Workspace.from_env()
    folds = unreferenced_folds(workspace)
    if not dry_run:
        remove_folds(workspace, folds)
    if json:
        print_json_line([{"key": fold.key, "plugin": fold.plugin, "bytes": fold.bytes} for fold in folds])
        return
    verb = "would delete" if dry_run else "deleted"
    for fold in folds:
        print_line(f"{verb} {fold.key} ({fold.plugin}, {fold.bytes / 1e6:.1f} MB)")
    stdout.print(f"{verb} {len(folds)} folds, {sum(fold.bytes for fold in folds) / 1e6:.1f} MB", highlight=False)
