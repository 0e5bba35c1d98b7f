"""Rendering reports from the templates in `reports/templates/`, and writing them whole or not at all."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import jinja2

from engine.resources import REPORT_TEMPLATES
from engine.stores.files import remove_stale_temporaries, temporary_sibling


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]  # cells as displayed


@dataclass(frozen=True)
class Chart:
    title: str
    path: Path


def _data_uri(path: Path) -> str:
    """A PNG inlined into the page, so the HTML needs no other file and no network to show it."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPORT_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["data_uri"] = _data_uri
    environment.globals["stylesheet"] = (REPORT_TEMPLATES / "report.css").read_text()
    return environment


def render(template: str, context: dict, destination: Path, folder: Path) -> None:
    """Render `template` to `destination`; `relative(path)` in a template gives a path relative to `folder`."""
    environment = _environment()
    environment.filters["relative"] = lambda path: Path(path).relative_to(folder).as_posix()
    destination.write_text(environment.get_template(template).render(context))


def write_report_folder(final: Path, build: Callable[[Path], None]) -> Path:
    """Build a report in a hidden sibling folder, then swap it into place: an old report stays whole
    until the new one is complete. Writers working at once (workers of one study) each build in
    their own folder; the last to swap wins. Folders left by a killed writer go on the next write."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final.parent)
    staging = temporary_sibling(final, ".partial")
    retired = staging.with_name(f"{staging.name}.old")
    try:
        (staging / "charts").mkdir(parents=True)
        build(staging)
        with suppress(FileNotFoundError):  # no report yet, or another writer is swapping it
            final.rename(retired)
        try:
            staging.rename(final)
        except OSError:  # another writer's report went into place first
            shutil.rmtree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
    return final
