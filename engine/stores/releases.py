"""The release store: immutable, numbered packages of a backtested strategy, what production trades.

    releases/<name>/<version>/release.json   name, version, source run, strategy name, data
                                             fingerprint, metrics, retraining policy, library
                                             versions, and the SHA-256 of every other file
    releases/<name>/<version>/...            what the package holds (engine.usecases.release)

A version is written whole: staged beside its place, its files made read-only, then renamed into
place. A rename onto an existing version fails, so two writers never take the same number and
nothing is overwritten. Every read checks the checksums: a file changed, missing or added since
the release was made is refused by name, and a damaged release never hides the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError
from engine.stores.files import remove_stale_temporaries, temporary_sibling

RECORD = "release.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ReleaseError(UserError):
    """A release that does not exist, cannot be made under that name, or is damaged."""


@dataclass(frozen=True)
class Release:
    """One checked version of a release."""

    name: str
    version: int
    path: Path
    record: dict

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version}"

    def document(self, relative: str) -> dict:
        """A JSON file of the package (checked with the release)."""
        return json.loads((self.path / relative).read_text())


@dataclass(frozen=True)
class ReleaseSummary:
    reference: str
    path: Path
    release: Release | None  # None when damaged
    problem: str | None = None


def parse_reference(reference: str) -> tuple[str, int | None]:
    """NAME@N, or NAME alone for its latest version."""
    name, at, version = reference.partition("@")
    check_name(name)
    if not at:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise ReleaseError(f"release {reference!r}: the version after @ must be a whole number from 1, as in {name}@1")
    return name, int(version)


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ReleaseError(
            f"release name {name!r}: use letters, digits, '_', '.' and '-' (up to 64, starting with a letter or digit)"
        )


class ReleaseStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(entry.name) for entry in folder.iterdir() if entry.name.isdigit() and entry.is_dir())

    def create(self, name: str, write: Callable[[Path], dict]) -> Release:
        """A new version of `name`: `write(folder)` fills a staging folder and returns the release's
        record; the store adds the name, version and checksums, and moves it into place."""
        check_name(name)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)
        staging = temporary_sibling(folder / "new", ".partial")
        staging.mkdir()
        try:
            record = write(staging)
            while True:
                version = max(self.versions(name), default=0) + 1
                final = folder / str(version)
                _write_record(staging, {"name": name, "version": version, **record, "files": _checksums(staging)})
                _make_read_only(staging)
                try:
                    os.rename(staging, final)  # fails if another writer took this number: take the next
                except OSError:
                    if not final.exists():
                        raise
                    _make_writable(staging)
                    continue
                return self.get(f"{name}@{version}")
        except BaseException:
            if staging.exists():
                _make_writable(staging)
                shutil.rmtree(staging, ignore_errors=True)
            raise

    def get(self, reference: str) -> Release:
        """The release a reference names (NAME@N, or NAME: its latest), its files checked."""
        name, version = parse_reference(reference)
        versions = self.versions(name)
        if not versions:
            raise ReleaseError(f"no release {name!r} in {self.root}")
        if version is None:
            version = versions[-1]
        elif version not in versions:
            raise ReleaseError(f"no release {name}@{version}: {name} has versions {', '.join(map(str, versions))}")
        return _checked(name, version, self.root / name / str(version))

    def list(self) -> list[ReleaseSummary]:
        """Every version of every release, by name then version; a damaged one says what is wrong."""
        if not self.root.is_dir():
            return []
        summaries = []
        for name in sorted(entry.name for entry in self.root.iterdir() if entry.is_dir() and _NAME.match(entry.name)):
            for version in self.versions(name):
                path = self.root / name / str(version)
                try:
                    summaries.append(ReleaseSummary(f"{name}@{version}", path, _checked(name, version, path)))
                except ReleaseError as error:
                    summaries.append(ReleaseSummary(f"{name}@{version}", path, None, str(error)))
        return summaries


def _checked(name: str, version: int, path: Path) -> Release:
    reference = f"{name}@{version}"
    try:
        record = json.loads((path / RECORD).read_text())
    except (OSError, ValueError) as error:
        raise ReleaseError(f"release {reference} is damaged: {RECORD} cannot be read ({error})") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or record.get("name") != name or record.get("version") != version:
        raise ReleaseError(f"release {reference} is damaged: {RECORD} does not describe {reference}")
    found = _checksums(path)
    for relative in sorted(files.keys() | found.keys()):
        if relative not in found:
            raise ReleaseError(f"release {reference} is damaged: {relative} is missing")
        if relative not in files:
            raise ReleaseError(f"release {reference} is damaged: {relative} was added after it was made")
        if found[relative] != files[relative]:
            raise ReleaseError(f"release {reference} is damaged: {relative} does not match its checksum")
    return Release(name, version, path, record)


def _checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` but the record, by path relative to it."""
    sums = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative != RECORD:
            sums[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sums


def _write_record(folder: Path, record: dict) -> None:
    path = folder / RECORD
    if path.exists():
        path.chmod(stat.S_IWUSR | stat.S_IRUSR)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _make_read_only(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _make_writable(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
