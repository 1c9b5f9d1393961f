"""Recording what a fetch produced: snapshots, versions, changes, outcomes, runs.

Callers wrap each source in one transaction (``storage.db.transaction``), so a
crash leaves either everything about that fetch or nothing.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping, Protocol, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.diff import diff_texts
from analysis.flags import analyse_change
from storage import blobs
from storage.models import Change, FetchOutcome, Run, Snapshot, SourceRow, Version

RECENT_VERSIONS_FOR_REVERT = 5


class SourceLike(Protocol):
    id: str
    vendor: str
    title: str
    document_type: str
    language: str
    urls: Sequence[str]
    tags: Sequence[str]


@dataclass(frozen=True)
class RawPage:
    url: str
    final_url: str
    status: int | None  # None for imported files
    content_type: str | None
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names; not stored
    fetched_at: datetime | None = None  # when re-deriving from a stored snapshot: its original fetch time


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upsert_source(session: Session, source: SourceLike) -> SourceRow:
    row = session.get(SourceRow, source.id)
    if row is None:
        row = SourceRow(id=source.id)
        session.add(row)
    row.vendor, row.title = source.vendor, source.title
    row.document_type, row.language = source.document_type, source.language
    row.urls, row.tags = list(source.urls), list(source.tags)
    session.flush()
    return row


def start_run(session: Session, kind: str, at: datetime) -> Run:
    run = Run(kind=kind, status="running", started_at=at, pid=os.getpid(), host=socket.gethostname(),
              sources_checked=0, new_versions=0, changes=0, failures=0)
    session.add(run)
    session.flush()
    return run


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# A run on another machine sharing the database cannot be checked for life:
# it counts as gone only after this long.
FOREIGN_RUN_TIMEOUT = timedelta(hours=24)


def _gone(run: Run, at: datetime) -> bool:
    if run.host in (None, socket.gethostname()):
        return not _alive(run.pid)
    return at - run.started_at > FOREIGN_RUN_TIMEOUT


def abort_stale_runs(session: Session, at: datetime) -> int:
    """Mark runs left `running` by a process that is gone as `aborted`."""
    stale = [run for run in session.scalars(select(Run).where(Run.status == "running")) if _gone(run, at)]
    for run in stale:
        run.status, run.finished_at = "aborted", at
    return len(stale)


def finish_run(session: Session, run_id: int, at: datetime) -> Run:
    run = session.get_one(Run, run_id)
    counts = dict(session.execute(
        select(FetchOutcome.outcome, func.count()).where(FetchOutcome.run_id == run_id).group_by(FetchOutcome.outcome)
    ).all())
    run.sources_checked = sum(counts.values())
    run.failures = counts.get("failed", 0)
    run.new_versions = counts.get("first", 0) + counts.get("changed", 0)
    run.changes = counts.get("changed", 0)
    run.finished_at = at
    if run.sources_checked and run.failures == run.sources_checked:
        run.status = "failed"
    elif run.failures:
        run.status = "partial"
    else:
        run.status = "ok"
    return run


def current_version(session: Session, source_id: str) -> Version | None:
    return session.scalars(
        select(Version).where(Version.source_id == source_id).order_by(Version.number.desc()).limit(1)
    ).first()


def latest_record_time(session: Session, source_id: str) -> datetime | None:
    return session.scalar(select(func.max(FetchOutcome.at)).where(FetchOutcome.source_id == source_id))


def refused_in_a_row(session: Session, source_id: str, kind: str, sha256: str) -> int:
    """How many of the source's latest outcomes in a row refused this same text for this reason."""
    count = 0
    for outcome in session.scalars(select(FetchOutcome).where(FetchOutcome.source_id == source_id)
                                   .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(50)):
        if outcome.failure_kind != kind or outcome.text_sha256 != sha256:
            break
        count += 1
    return count


def outcome_at(session: Session, source_id: str, at: datetime) -> FetchOutcome | None:
    return session.scalars(select(FetchOutcome).where(
        FetchOutcome.source_id == source_id, FetchOutcome.at == at).order_by(FetchOutcome.id).limit(1)).first()


def _previous_keyframe(session: Session, source_id: str, position: int) -> str | None:
    last = session.scalar(
        select(Snapshot.blob_sha256)
        .where(Snapshot.source_id == source_id, Snapshot.position == position)
        .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc()).limit(1)
    )
    return blobs.keyframe_of(session, last) if last else None


def _store_snapshots(session: Session, outcome: FetchOutcome, pages: Sequence[RawPage], at: datetime) -> None:
    for position, page in enumerate(pages):
        stored = blobs.store(session, page.body, _previous_keyframe(session, outcome.source_id, position))
        session.add(Snapshot(
            outcome_id=outcome.id, source_id=outcome.source_id, position=position, url=page.url,
            final_url=page.final_url, http_status=page.status, content_type=page.content_type,
            fetched_at=page.fetched_at or at, blob_sha256=stored.sha256,
        ))


def reverted_version(session: Session, source_id: str, new_sha: str, current: Version) -> Version | None:
    """The recent version (before the current one) whose text this one returns to, if any."""
    recent = session.scalars(
        select(Version).where(Version.source_id == source_id, Version.id != current.id)
        .order_by(Version.number.desc()).limit(RECENT_VERSIONS_FOR_REVERT)
    ).all()
    return next((v for v in recent if v.sha256 == new_sha), None)


def record_success(session: Session, *, run_id: int, source_id: str, at: datetime,
                   pages: Sequence[RawPage], text: str, technical: bool = False) -> FetchOutcome:
    """Keep the raw pages; add a version (and a change) only when the text differs.

    `technical`: the text was re-derived from stored snapshots with new
    extraction rules, so its change is `technical`, not the vendor's doing.
    """
    current = current_version(session, source_id)
    sha = text_sha256(text)
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome="unchanged",
                           http_status=pages[-1].status if pages else None,
                           url=pages[0].final_url if pages else None)
    session.add(outcome)
    session.flush()
    _store_snapshots(session, outcome, pages, at)
    if current is not None and current.sha256 == sha:
        current.last_confirmed = max(current.last_confirmed, at)
        outcome.version_id = current.id
        session.flush()
        return outcome
    reverted = reverted_version(session, source_id, sha, current) if current is not None else None
    version = Version(source_id=source_id, number=(current.number + 1) if current else 1, text=text,
                      sha256=sha, first_seen=at, last_confirmed=at, outcome_id=outcome.id)
    session.add(version)
    session.flush()
    outcome.version_id = version.id
    if current is None:
        outcome.outcome = "first"
    else:
        outcome.outcome = "changed"
        diff = diff_texts(current.text, text)
        source = session.get_one(SourceRow, source_id)
        meaning = analyse_change(current.text, text, source.language.split("-")[0])
        session.add(Change(
            source_id=source_id, from_version_id=current.id, to_version_id=version.id, detected_at=at,
            words_added=diff.words_added, words_removed=diff.words_removed,
            lines_added=diff.lines_added, lines_removed=diff.lines_removed,
            kind="technical" if technical else "revert" if reverted is not None else meaning.kind,
            reverts_to_version_id=reverted.id if reverted is not None else None,
            flags=list(meaning.flags), severity=meaning.severity, summary=meaning.summary,
            evidence=[e.to_json() for e in meaning.evidence],
        ))
    session.flush()
    return outcome


def record_failure(session: Session, *, run_id: int, source_id: str, at: datetime, kind: str,
                   detail: str, http_status: int | None = None, url: str | None = None,
                   text_sha256: str | None = None) -> FetchOutcome:
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome="failed", failure_kind=kind,
                           detail=detail, http_status=http_status, url=url, text_sha256=text_sha256)
    session.add(outcome)
    session.flush()
    return outcome
