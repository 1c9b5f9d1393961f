"""Back-filling a source from the Wayback Machine: list its captures (CDX), download each distinct one raw
(`id_` replay URLs), and import them through the importer and the fetch guard.

Downloads are kept in a work directory, one file per capture, named by its
time and digest, with the manifest the importer reads: a run that is stopped
(interrupted, throttled, the network gone) leaves its files, and the next run
downloads only what is missing. Captures already in the record are neither
downloaded nor imported again, so a back-fill can be run again at any time.

A record only grows forwards: captures older than what a source already has
cannot be put before it; back-fill a source before its first crawl.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from ingest.backfill.cdx import Capture, CdxError, distinct, parse_page, query_url
from ingest.backfill.client import ArchiveError, PoliteClient
from ingest.backfill.options import WaybackOptions, polite_interval
from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.importer import ImportReport, import_manifest
from ingest.judge import GuardPolicy
from storage.db import reading
from storage.record import latest_record_time, outcome_at

# The Internet Archive's own hosts are never asked more than once a second, whatever the settings say.
MANIFEST = "manifest.jsonl"


@dataclass
class SourceBackfill:
    """What a back-fill did for one source."""

    source_id: str
    listed: int = 0  # captures the index listed
    distinct: int = 0  # captures of the page, each differing from the one before
    downloaded: int = 0
    reused: int = 0  # already downloaded by an earlier run, or the same bytes as another capture
    already_recorded: int = 0
    before_record: int = 0  # older than what the record already holds for the source
    unavailable: list[str] = field(default_factory=list)  # captures the archive would not serve
    skipped: str | None = None  # why the source was not back-filled at all
    stopped: str | None = None  # why the back-fill stopped early (resumable)
    imported: ImportReport | None = None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)[:64]


def work_folder(workdir: Path, source_id: str) -> Path:
    return workdir / source_id.replace("/", "__")


def list_captures(client: PoliteClient, options: WaybackOptions, url: str, since: datetime | None,
                  until: datetime | None, say: Callable[[str], None]) -> list[Capture]:
    """Every capture of `url` the index lists (at most `max_captures`), following its resume keys."""
    captures: list[Capture] = []
    resume: str | None = None
    while True:
        query = query_url(options.cdx_url, url, since, until, resume,
                          limit=min(1000, options.max_captures - len(captures)))
        answer = client.get(query)
        if answer.status != 200:
            raise ArchiveError(f"{query}: HTTP {answer.status} from the CDX index")
        page, resume = parse_page(answer.body, query)
        captures += page
        if not resume or not page:
            return captures
        if len(captures) >= options.max_captures:
            say(f"listing stopped at {len(captures)} captures (wayback_max_captures); narrow it with --from/--to")
            return captures


def _existing(folder: Path, capture: Capture) -> tuple[Path | None, Path | None]:
    """This capture's file from an earlier run, and any file holding the same digest."""
    own = folder / f"{capture.timestamp}-{_safe(capture.digest)}.html"
    if own.is_file():
        return own, own
    same = next(iter(sorted(folder.glob(f"*-{_safe(capture.digest)}.html"))), None)
    return None, same


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def backfill_source(factory: sessionmaker[Session], source: Source, options: WaybackOptions, client: PoliteClient,
                    workdir: Path, *, since: datetime | None = None, until: datetime | None = None,
                    policy: GuardPolicy = GuardPolicy(), say: Callable[[str], None] = lambda _: None,
                    claims: ClaimsPlan | None = None) -> SourceBackfill:
    """Back-fill one source; with `claims`, evaluate them once its captures are recorded."""
    result = SourceBackfill(source.id)
    if len(source.urls) != 1:
        result.skipped = (f"it combines {len(source.urls)} pages; a back-fill takes single-page sources only "
                          f"(captures of different pages are not taken at the same time)")
        return result
    url = source.urls[0]
    try:
        listed = list_captures(client, options, url, since, until, say)
    except (ArchiveError, CdxError) as exc:
        result.stopped = str(exc)
        return result
    result.listed = len(listed)
    pages = [c for c in distinct([c for c in listed if c.is_page])
             if (since is None or c.at >= since) and (until is None or c.at <= until)]
    result.distinct = len(pages)
    pending: list[Capture] = []
    with reading(factory) as session:
        latest = latest_record_time(session, source.id)
        for capture in pages:
            if latest is not None and capture.at <= latest:
                if outcome_at(session, source.id, capture.at) is not None:
                    result.already_recorded += 1
                else:
                    result.before_record += 1
                continue
            pending.append(capture)
    if not pending:
        return result
    folder = work_folder(workdir, source.id)
    folder.mkdir(parents=True, exist_ok=True)
    say(f"{source.id}: {len(pending)} capture(s) to import, downloading what is missing "
        f"(one request every {client.interval:g} s)")
    entries: list[dict[str, str]] = []
    for capture in pending:
        replay = f"{options.replay_url}{capture.timestamp}id_/{capture.original}"
        own, same = _existing(folder, capture)
        target = folder / f"{capture.timestamp}-{_safe(capture.digest)}.html"
        if own is not None:
            result.reused += 1
        elif same is not None:
            _write(target, same.read_bytes())
            result.reused += 1
        else:
            try:
                answer = client.get(replay)
            except ArchiveError as exc:
                result.stopped = f"{exc}; run the same command again to resume"
                break
            if answer.status >= 500:
                result.stopped = f"{replay}: HTTP {answer.status}; run the same command again to resume"
                break
            if answer.status != 200 or "html" not in answer.content_type.lower():
                result.unavailable.append(f"{capture.timestamp}: HTTP {answer.status} {answer.content_type}".strip())
                continue
            _write(target, answer.body)
            result.downloaded += 1
        entries.append({"source": source.id, "at": capture.at.isoformat().replace("+00:00", "Z"),
                        "path": target.name, "url": replay})
    if entries:
        manifest = folder / MANIFEST
        _write(manifest, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries).encode("utf-8"))
        # A capture is the vendor's page as the archive kept it: bytes that do not decode are its failure.
        result.imported = import_manifest(factory, manifest, {source.id: source}, policy, claims=claims,
                                          check_text=False)
    return result
