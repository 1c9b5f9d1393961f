"""Importing saved pages with their timestamps: archives and replays of history.

A manifest is JSON lines, one snapshot each:
``{"source": ID, "at": ISO-8601, "path": FILE}`` or ``"paths": [FILE, ...]``
for a document combined from several pages. Paths are relative to the
manifest. An entry may say where its files were saved from (`"url"`, or
`"urls"` in the order of `paths`): that address is recorded as the snapshot's
URL instead of the file's. Entries are applied in time order, exactly as if
fetched then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import UserInputError
from ingest.declarations import Source
from ingest.judge import GuardPolicy
from ingest.record import store_outcome
from ingest.results import SourceResult
from ingest.runs import recorded_run
from storage.blobs import sha256_hex
from storage.db import transaction
from storage.record import RawPage, latest_record_time, outcome_at
from storage.vocabulary import RunKind

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
                 ".md": "text/markdown; charset=utf-8", ".markdown": "text/markdown; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8"}


class ManifestError(UserInputError):
    pass


@dataclass(frozen=True)
class Entry:
    line: int
    source: Source
    at: datetime
    paths: tuple[Path, ...]
    urls: tuple[str, ...] = ()  # where each file was saved from, when the manifest says so


@dataclass(frozen=True)
class ImportReport:
    applied: list[SourceResult]
    skipped: int
    run_id: int | None


def parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _entry(manifest: Path, number: int, raw: str, sources: Mapping[str, Source]) -> Entry:
    where = f"{manifest}:{number}"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    sid = data.get("source")
    if not isinstance(sid, str) or sid not in sources:
        raise ManifestError(f"{where}: field 'source': {sid!r} is not a declared source id")
    try:
        at = parse_time(str(data["at"]))
    except KeyError:
        raise ManifestError(f"{where}: field 'at' is required (ISO-8601 time)") from None
    except ValueError:
        raise ManifestError(f"{where}: field 'at': {data['at']!r} is not an ISO-8601 time") from None
    if ("path" in data) == ("paths" in data):
        raise ManifestError(f"{where}: give exactly one of 'path' or 'paths'")
    names = [data["path"]] if "path" in data else data["paths"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ManifestError(f"{where}: field 'paths' must be a non-empty list of file names")
    paths = tuple((manifest.parent / n) for n in names)
    for path in paths:
        if path.suffix.lower() not in CONTENT_TYPES:
            raise ManifestError(f"{where}: {path}: unsupported file type (use {', '.join(CONTENT_TYPES)})")
        if not path.is_file():
            raise ManifestError(f"{where}: {path}: no such file")
    origins = [data["url"]] if "url" in data else data.get("urls", [])
    if origins and (not isinstance(origins, list) or len(origins) != len(paths)
                    or not all(isinstance(u, str) and "://" in u for u in origins)):
        raise ManifestError(f"{where}: field 'url'/'urls': one absolute URL per file of 'path'/'paths'")
    return Entry(number, sources[sid], at, paths, tuple(origins))


def read_manifest(manifest: Path, sources: Mapping[str, Source]) -> list[Entry]:
    """Every entry, validated before anything is stored, sorted by time."""
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ManifestError(f"{manifest}: cannot read: {exc.strerror}") from None
    entries = [_entry(manifest, n, raw, sources) for n, raw in enumerate(lines, 1) if raw.strip()]
    return sorted(entries, key=lambda e: e.at)


def _pages(entry: Entry) -> list[RawPage]:
    origins = entry.urls or tuple(p.resolve().as_uri() for p in entry.paths)
    return [RawPage(url=url, final_url=url, status=None, content_type=CONTENT_TYPES[p.suffix.lower()],
                    body=p.read_bytes()) for p, url in zip(entry.paths, origins)]


def _pending(session: Session, manifest: Path, entries: list[Entry]) -> tuple[list[Entry], int]:
    """The entries not recorded yet, after checking that each one extends its source's history.

    Everything is checked before anything is stored, so a refused manifest leaves the record as it was.
    """
    pending: list[Entry] = []
    skipped = 0
    for entry in entries:
        existing = outcome_at(session, entry.source.id, entry.at)
        if existing is not None:
            first = existing.snapshots[0].blob_sha256 if existing.snapshots else None
            if first is not None and first != sha256_hex(entry.paths[0].read_bytes()):
                raise ManifestError(f"{manifest}:{entry.line}: {entry.source.id} already has a different snapshot "
                                    f"recorded at {entry.at.isoformat()}")
            skipped += 1
            continue
        pending.append(entry)
    earliest: dict[str, Entry] = {}
    for entry in pending:
        earliest.setdefault(entry.source.id, entry)
    for sid, entry in earliest.items():
        latest = latest_record_time(session, sid)
        if latest is not None and entry.at <= latest:
            raise ManifestError(
                f"{manifest}:{entry.line}: {sid} already has a record at {latest.isoformat()}, "
                f"later than this entry ({entry.at.isoformat()}); imports may only extend a history")
    return pending, skipped


def import_manifest(factory: sessionmaker[Session], manifest: Path, sources: Mapping[str, Source],
                    policy: GuardPolicy = GuardPolicy()) -> ImportReport:
    entries = read_manifest(manifest, sources)
    with transaction(factory) as session:
        pending, skipped = _pending(session, manifest, entries)
    applied: list[SourceResult] = []
    if not pending:
        return ImportReport(applied, skipped, None)
    # Entries are stored one transaction each: whatever was applied is a finished run.
    with recorded_run(factory, RunKind.IMPORT, pending[0].at,
                      end=lambda: pending[len(applied) - 1].at if applied else pending[0].at) as run_id:
        for entry in pending:
            applied.append(store_outcome(factory, run_id, entry.source, entry.at, _pages(entry), None, policy))
    return ImportReport(applied, skipped, run_id)
