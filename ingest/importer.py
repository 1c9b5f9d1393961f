"""Importing saved pages with their timestamps: archives and replays of history.

A manifest is JSON lines (UTF-8), one snapshot each:
``{"source": ID, "at": ISO-8601, "path": FILE}`` or ``"paths": [FILE, ...]``
for a document combined from several pages. Paths are relative to the
manifest and must stay inside its folder unless `allow_outside` is given.
An entry may say where its files were saved from (`"url"`, or `"urls"` in
the order of `paths`): that address is recorded as the snapshot's URL instead
of the file's. Entries are applied in time order, exactly as if fetched then.

Everything is checked before anything is stored: the manifest's size and
encoding, each line, each file (type, size, place), times in the future, two
different snapshots of one source at one time, and that every entry extends
its source's history. While an import applies a source's entries it holds
that source (`storage.record.lock_source`), so a crawl of the same source
waits and records after them instead of between them.
"""

from __future__ import annotations

import json
import reprlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import UserInputError
from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.extraction.decode import choose_encoding
from ingest.extraction.errors import ExtractionError
from ingest.judge import GuardPolicy
from ingest.record import BehindTheRecord, store_outcome
from ingest.results import SourceResult
from ingest.runs import abort_stale, recorded_run
from storage.blobs import sha256_hex
from storage.db import reading, transaction
from storage.record import RawPage, latest_record_time, lock_source, outcome_at, unlock_source
from storage.times import parse_time, utc_text
from storage.vocabulary import RunKind

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
                 ".md": "text/markdown; charset=utf-8", ".markdown": "text/markdown; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8"}
# The crawler's page limit (`download_maxsize`), which the command passes on; imported files are held to it too.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_MANIFEST_LINES = 1_000_000
# Saved pages carry the clocks of the machines that saved them: a little ahead of ours is not the future.
CLOCK_SKEW = timedelta(minutes=10)

_brief = reprlib.Repr()
_brief.maxstring = 80
_brief.maxother = 80


MAX_REPORTED_LINES = 20  # bad manifest lines reported one by one; the rest are counted


class ManifestError(UserInputError):
    """A manifest that cannot be imported; one line per problem."""


@dataclass(frozen=True)
class Entry:
    line: int
    source: Source
    at: datetime
    paths: tuple[Path, ...]
    digests: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()  # where each file was saved from, when the manifest says so


@dataclass(frozen=True)
class ImportReport:
    applied: list[SourceResult]
    skipped: int
    run_id: int | None
    duplicates: int = 0  # entries that repeated another one (same source, time and files)
    not_applied: list[str] = field(default_factory=list)  # sources left alone, and why


def _lines(manifest: Path) -> list[tuple[int, str]]:
    """The manifest's non-blank lines, read with bounds: a device, a binary file or a huge file is refused."""
    lines: list[tuple[int, str]] = []
    try:
        with manifest.open("rb") as handle:
            for number in range(1, MAX_MANIFEST_LINES + 2):
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return lines
                if number > MAX_MANIFEST_LINES:
                    raise ManifestError(f"{manifest}: more than {MAX_MANIFEST_LINES} lines; split it")
                if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    raise ManifestError(f"{manifest}: is UTF-16; a manifest is UTF-8 JSON lines")
                if b"\x00" in raw:
                    raise ManifestError(f"{manifest}:{number}: contains NUL bytes; a manifest is UTF-8 JSON lines")
                if len(raw) > MAX_LINE_BYTES:
                    raise ManifestError(f"{manifest}:{number}: line longer than {MAX_LINE_BYTES} bytes "
                                        "(a manifest line names one snapshot)")
                try:
                    text = raw.decode("utf-8").removeprefix("\ufeff") if number == 1 else raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ManifestError(f"{manifest}:{number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                                        f"{exc.start + 1}); a manifest is UTF-8 JSON lines") from None
                if text.strip():
                    lines.append((number, text))
    except OSError as exc:
        raise ManifestError(f"{manifest}: cannot read: {exc.strerror}") from None
    return lines


def _file(where: str, manifest: Path, name: str, allow_outside: bool, max_bytes: int) -> Path:
    path = manifest.parent / name
    resolved = path.resolve()
    folder = manifest.parent.resolve()
    if not allow_outside and not resolved.is_relative_to(folder):
        raise ManifestError(f"{where}: {_brief.repr(name)} resolves to {resolved}, outside the manifest's folder "
                            f"{folder}; pass --allow-outside to import files from elsewhere")
    if resolved.suffix.lower() not in CONTENT_TYPES:
        raise ManifestError(f"{where}: {path}: unsupported file type (use {', '.join(CONTENT_TYPES)})")
    if not resolved.is_file():
        raise ManifestError(f"{where}: {path}: no such file")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise ManifestError(f"{where}: {path}: {size} bytes, over the {max_bytes}-byte limit on a page "
                            "(download_maxsize)")
    return resolved


def _entry(manifest: Path, number: int, raw: str, sources: Mapping[str, Source], *, allow_outside: bool,
           max_bytes: int, now: datetime) -> Entry:
    where = f"{manifest}:{number}"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ManifestError(f"{where}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    sid = data.get("source")
    if not isinstance(sid, str) or sid not in sources:
        raise ManifestError(f"{where}: field 'source': {_brief.repr(sid)} is not a declared source id")
    if "at" not in data:
        raise ManifestError(f"{where}: field 'at' is required (ISO-8601 time)")
    try:
        at = parse_time(data["at"]) if isinstance(data["at"], str) else None
    except ValueError:
        at = None
    if at is None:
        raise ManifestError(f"{where}: field 'at': {_brief.repr(data['at'])} is not an ISO-8601 time")
    if at > now + CLOCK_SKEW:
        raise ManifestError(f"{where}: field 'at': {utc_text(at)} is in the future (now {utc_text(now)}); a typo in the "
                            "year?")
    if ("path" in data) == ("paths" in data):
        raise ManifestError(f"{where}: give exactly one of 'path' or 'paths'")
    names = [data["path"]] if "path" in data else data["paths"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ManifestError(f"{where}: field 'paths' must be a non-empty list of file names")
    paths = tuple(_file(where, manifest, n, allow_outside, max_bytes) for n in names)
    origins = [data["url"]] if "url" in data else data.get("urls", [])
    if origins and (not isinstance(origins, list) or len(origins) != len(paths)
                    or not all(isinstance(u, str) and "://" in u for u in origins)):
        raise ManifestError(f"{where}: field 'url'/'urls': one absolute URL per file of 'path'/'paths'")
    return Entry(number, sources[sid], at, paths, urls=tuple(origins))


def _bytes(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ManifestError(f"{path}: grew past the {max_bytes}-byte limit on a page while it was imported")
    return data


def _undecodable(path: Path, data: bytes) -> str | None:
    """Why the file's bytes cannot be read as text, or None. HTML is read as a fetched page is (a byte-order
    mark, then its `<meta charset>`, then UTF-8: `ingest.extraction.decode`); Markdown and text are UTF-8."""
    if CONTENT_TYPES[path.suffix.lower()] in ("text/html", "application/xhtml+xml"):
        try:
            codec, origin, skip = choose_encoding(data, None)
        except ExtractionError as exc:
            return exc.detail
        if codec == "utf-8" and origin == "default":
            origin = ""
    else:
        codec, origin, skip = "utf-8", "", 0
    try:
        data[skip:].decode(codec, "policywatch-c1-passthrough" if codec == "cp1252" else "strict")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        what = "UTF-8" if codec == "utf-8" else codec
        declared = f", as its {origin} says it is" if origin else ""
        return f"not {what}{declared} (byte 0x{data[offset]:02x} at offset {offset})"
    return None


def _with_digests(manifest: Path, entry: Entry, max_bytes: int, check_text: bool = True) -> Entry:
    """The entry with its files' sha256s; with `check_text`, a file whose bytes are not text in its encoding is
    refused here, before anything is stored (stored, it would be a failed fetch of the vendor's document, which
    a user's file is not)."""
    digests = []
    for path in entry.paths:
        data = _bytes(path, max_bytes)
        problem = _undecodable(path, data) if check_text else None
        if problem is not None:
            raise ManifestError(f"{manifest}:{entry.line}: {path}: {problem}; an imported file must be text: UTF-8, "
                                "or for HTML the encoding its byte-order mark or <meta charset> names")
        digests.append(sha256_hex(data))
    return replace(entry, digests=tuple(digests))


def _one_per_time(manifest: Path, entries: Sequence[Entry]) -> tuple[list[Entry], int]:
    """Entries of one source at one time must be the same snapshot: kept once, else refused."""
    kept: dict[tuple[str, datetime], Entry] = {}
    duplicates = 0
    for entry in entries:
        key = (entry.source.id, entry.at)
        first = kept.get(key)
        if first is None:
            kept[key] = entry
            continue
        if first.digests != entry.digests:
            raise ManifestError(f"{manifest}:{entry.line}: {entry.source.id} already has an entry at {utc_text(entry.at)} "
                                f"(line {first.line}) with different files; one source cannot have two snapshots at "
                                "one time")
        duplicates += 1
    return sorted(kept.values(), key=lambda e: (e.at, e.line)), duplicates


def read_manifest(manifest: Path, sources: Mapping[str, Source], *, allow_outside: bool = False,
                  max_bytes: int = MAX_FILE_BYTES, now: datetime | None = None,
                  check_text: bool = True) -> tuple[list[Entry], int]:
    """Every entry, validated before anything is stored, sorted by time; and how many entries repeated another.

    `check_text=False` for pages an archive kept as the vendor served them (the Wayback Machine): one whose
    bytes do not decode is that capture's failure, recorded as a fetched page's would be."""
    now = now or datetime.now(timezone.utc)
    entries: list[Entry] = []
    problems: list[str] = []
    for number, raw in _lines(manifest):
        try:
            entries.append(_entry(manifest, number, raw, sources, allow_outside=allow_outside, max_bytes=max_bytes,
                                  now=now))
        except ManifestError as exc:
            problems.append(str(exc))
    if problems:
        raise ManifestError(bad_lines(manifest, problems))
    checked: list[Entry] = []
    for entry in entries:
        try:
            checked.append(_with_digests(manifest, entry, max_bytes, check_text))
        except ManifestError as exc:
            problems.append(str(exc))
    if problems:
        raise ManifestError(bad_lines(manifest, problems))
    return _one_per_time(manifest, checked)


def bad_lines(manifest: Path, problems: Sequence[str]) -> str:
    """One line per bad manifest line, the first `MAX_REPORTED_LINES` of them, then how many more there are."""
    shown = list(problems[:MAX_REPORTED_LINES])
    if len(problems) > MAX_REPORTED_LINES:
        shown.append(f"{manifest}: … and {len(problems) - MAX_REPORTED_LINES} more bad line(s)")
    if len(problems) > 1:
        shown.append(f"{manifest}: {len(problems)} bad lines; nothing was imported")
    return "\n".join(shown)


def _pages(entry: Entry, max_bytes: int) -> list[RawPage]:
    origins = entry.urls or tuple(p.as_uri() for p in entry.paths)
    return [RawPage(url=url, final_url=url, status=None, content_type=CONTENT_TYPES[p.suffix.lower()],
                    body=_bytes(p, max_bytes)) for p, url in zip(entry.paths, origins)]


def _pending(session: Session, manifest: Path, entries: list[Entry]) -> tuple[list[Entry], int]:
    """The entries not recorded yet, after checking that each one extends its source's history."""
    pending: list[Entry] = []
    skipped = 0
    for entry in entries:
        existing = outcome_at(session, entry.source.id, entry.at)
        if existing is not None:
            first = existing.snapshots[0].blob_sha256 if existing.snapshots else None
            if first is not None and first != entry.digests[0]:
                raise ManifestError(f"{manifest}:{entry.line}: {entry.source.id} already has a different snapshot "
                                    f"recorded at {utc_text(entry.at)}")
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
                f"{manifest}:{entry.line}: {sid} already has a record at {utc_text(latest)}, "
                f"later than this entry ({utc_text(entry.at)}); imports may only extend a history")
    return pending, skipped


def _apply_source(factory: sessionmaker[Session], run_id: int, entries: Sequence[Entry], policy: GuardPolicy,
                  max_bytes: int, applied: list[SourceResult]) -> str | None:
    """Apply one source's entries while holding it; why they were not applied, if they were not."""
    source = entries[0].source
    with transaction(factory) as session:
        held = lock_source(session, source.id, run_id)
        latest = latest_record_time(session, source.id)
    if held is not None:
        return (f"{source.id}: not imported: run {held.run_id} (pid {held.pid} on {held.host}) is writing it; "
                "import again once it has finished")
    try:
        if latest is not None and entries[0].at <= latest:
            return (f"{source.id}: not imported: a record at {utc_text(latest)} was made while this import was being "
                    f"checked, later than its first entry ({utc_text(entries[0].at)}); imports may only extend a history")
        for entry in entries:
            try:
                applied.append(store_outcome(factory, run_id, source, entry.at, _pages(entry, max_bytes), None,
                                             policy, imported=True))
            except BehindTheRecord as exc:  # a crawl recorded the source after this import had checked it
                return f"{source.id}: not imported from {utc_text(entry.at)} on: {exc}"
    finally:
        with transaction(factory) as session:
            unlock_source(session, source.id, run_id)
    return None


def import_manifest(factory: sessionmaker[Session], manifest: Path, sources: Mapping[str, Source],
                    policy: GuardPolicy = GuardPolicy(), *, allow_outside: bool = False,
                    max_bytes: int = MAX_FILE_BYTES, now: datetime | None = None,
                    claims: ClaimsPlan | None = None, check_text: bool = True) -> ImportReport:
    entries, duplicates = read_manifest(manifest, sources, allow_outside=allow_outside, max_bytes=max_bytes, now=now,
                                        check_text=check_text)
    return import_entries(factory, manifest, entries, policy, duplicates=duplicates, max_bytes=max_bytes, now=now,
                          claims=claims)


def import_entries(factory: sessionmaker[Session], manifest: Path, entries: list[Entry],
                   policy: GuardPolicy = GuardPolicy(), *, duplicates: int = 0, max_bytes: int = MAX_FILE_BYTES,
                   now: datetime | None = None, claims: ClaimsPlan | None = None) -> ImportReport:
    """Apply the entries `read_manifest` checked; with `claims`, evaluate them once the entries are recorded."""
    now = now or datetime.now(timezone.utc)
    with reading(factory) as session:
        pending, skipped = _pending(session, manifest, entries)
    applied: list[SourceResult] = []
    not_applied: list[str] = []
    if not pending:
        abort_stale(factory, now)
        return ImportReport(applied, skipped, None, duplicates)
    per_source: dict[str, list[Entry]] = defaultdict(list)
    for entry in pending:
        per_source[entry.source.id].append(entry)
    latest_applied: list[datetime] = []
    # Entries are stored one transaction each: whatever was applied is a finished run.
    # The run carries the dates of its files; when the import itself ran is kept apart (performed_at).
    with recorded_run(factory, RunKind.IMPORT, pending[0].at,
                      end=lambda: max(latest_applied, default=pending[0].at), claims=claims,
                      performed_at=now) as run_id:
        for group in per_source.values():
            before = len(applied)
            refused = _apply_source(factory, run_id, group, policy, max_bytes, applied)
            if refused is not None:
                not_applied.append(refused)
            if len(applied) > before:
                latest_applied.append(group[len(applied) - before - 1].at)
    return ImportReport(applied, skipped, run_id, duplicates, not_applied)
