"""Recording what a fetch produced: snapshots, versions, changes, outcomes, runs.

Storage only stores: whether a text is acceptable, and what a change means,
is decided by the caller (``ingest``), which hands the results over. Callers
wrap each source in one transaction (``storage.db.transaction``), so a crash
leaves either everything about that fetch or nothing.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import blobs
from storage.models import (Blob, Change, ChangeAnalysisRow, FetchOutcome, Run, Snapshot, SourceFields, SourceRow,
                            Version)
from storage.vocabulary import Outcome, RunStatus

RECENT_VERSIONS_FOR_REVERT = 5


@dataclass(frozen=True)
class RawPage:
    url: str
    final_url: str
    status: int | None  # None for imported files
    content_type: str | None
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names; not stored
    fetched_at: datetime | None = None  # when re-deriving from a stored snapshot: its original fetch time
    content_key: str | None = None  # the key of the part extraction selected, when it was worked out


@dataclass(frozen=True)
class ChangeFacts:
    """What a change from the current version to a new text amounts to, as the caller worked it out."""

    kind: str
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int
    flags: tuple[str, ...] = ()
    severity: str = "none"
    summary: str = ""
    evidence: tuple[dict[str, Any], ...] = ()
    announced: bool = False
    reverts_to_version_id: int | None = None
    analysed: bool = True
    note: str = ""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upsert_source(session: Session, source: SourceFields) -> SourceRow:
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
    run = Run(kind=kind, status=RunStatus.RUNNING, started_at=at, pid=os.getpid(), host=socket.gethostname(),
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
    stale = [run for run in session.scalars(select(Run).where(Run.status == RunStatus.RUNNING)) if _gone(run, at)]
    for run in stale:
        run.status, run.finished_at = RunStatus.ABORTED, at
    return len(stale)


def finish_run(session: Session, run_id: int, at: datetime) -> Run:
    run = session.get_one(Run, run_id)
    counts = dict(session.execute(
        select(FetchOutcome.outcome, func.count()).where(FetchOutcome.run_id == run_id).group_by(FetchOutcome.outcome)
    ).all())
    run.sources_checked = sum(counts.values())
    run.failures = counts.get(Outcome.FAILED, 0)
    run.new_versions = counts.get(Outcome.FIRST, 0) + counts.get(Outcome.CHANGED, 0)
    run.changes = counts.get(Outcome.CHANGED, 0)
    run.finished_at = at
    if run.sources_checked and run.failures == run.sources_checked:
        run.status = RunStatus.FAILED
    elif run.failures:
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.OK
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
    # Refused pages (challenge pages, error pages) are kept, but the pages that
    # became versions are the better dictionary for the next one.
    return session.scalar(
        select(func.coalesce(Blob.base_sha256, Blob.sha256)).select_from(Snapshot)
        .join(FetchOutcome, FetchOutcome.id == Snapshot.outcome_id).join(Blob, Blob.sha256 == Snapshot.blob_sha256)
        .where(Snapshot.source_id == source_id, Snapshot.position == position,
               FetchOutcome.outcome != Outcome.FAILED)
        .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc()).limit(1)
    )


def _store_snapshots(session: Session, outcome: FetchOutcome, pages: Sequence[RawPage], at: datetime) -> None:
    for position, page in enumerate(pages):
        stored = blobs.store(session, page.body, _previous_keyframe(session, outcome.source_id, position))
        session.add(Snapshot(
            outcome_id=outcome.id, source_id=outcome.source_id, position=position, url=page.url,
            final_url=page.final_url, http_status=page.status, content_type=page.content_type,
            fetched_at=page.fetched_at or at, blob_sha256=stored.sha256, content_key=page.content_key,
        ))


def accepted_content_keys(session: Session, source_id: str, current: Version | None) -> tuple[str | None, ...] | None:
    """The content keys, by position, of the pages of the source's latest accepted fetch, when that fetch's
    text is the current version; None otherwise."""
    if current is None:
        return None
    latest = session.execute(
        select(FetchOutcome.id, FetchOutcome.version_id).where(FetchOutcome.source_id == source_id,
                                                              FetchOutcome.outcome != Outcome.FAILED)
        .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(1)).first()
    if latest is None or latest.version_id != current.id:
        return None
    return tuple(session.scalars(select(Snapshot.content_key).where(Snapshot.outcome_id == latest.id)
                                 .order_by(Snapshot.position)))


def reverted_version(session: Session, source_id: str, new_sha: str, current: Version) -> Version | None:
    """The recent version (before the current one) whose text this one returns to, if any."""
    recent = session.scalars(
        select(Version).where(Version.source_id == source_id, Version.id != current.id)
        .order_by(Version.number.desc()).limit(RECENT_VERSIONS_FOR_REVERT)
    ).all()
    return next((v for v in recent if v.sha256 == new_sha), None)


_LOOK_UP: Any = object()


def record_success(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                   text: str, change: ChangeFacts | None = None, current: Version | None = _LOOK_UP) -> FetchOutcome:
    """Keep the raw pages; add a version (with `change`, its step from the current one) only when the text
    differs from the current version (`current`, when the caller has just read it in this session)."""
    if current is _LOOK_UP:
        current = current_version(session, source_id)
    sha = text_sha256(text)
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome=Outcome.UNCHANGED,
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
    if current is not None and change is None:
        raise ValueError(f"{source_id}: a new version needs the facts of its change from v{current.number}")
    version = Version(source_id=source_id, number=(current.number + 1) if current else 1, text=text,
                      sha256=sha, first_seen=at, last_confirmed=at, outcome_id=outcome.id)
    session.add(version)
    session.flush()
    outcome.version_id = version.id
    if current is None:
        outcome.outcome = Outcome.FIRST
    else:
        assert change is not None
        outcome.outcome = Outcome.CHANGED
        session.add(Change(
            source_id=source_id, from_version_id=current.id, to_version_id=version.id, detected_at=at,
            words_added=change.words_added, words_removed=change.words_removed,
            lines_added=change.lines_added, lines_removed=change.lines_removed,
            kind=change.kind, reverts_to_version_id=change.reverts_to_version_id,
            flags=list(change.flags), severity=change.severity, summary=change.summary,
            evidence=list(change.evidence), announced=change.announced,
            announced_flags=list(change.flags) if change.announced else [],
            analysed=change.analysed, note=change.note,
        ))
    session.flush()
    return outcome


def record_failure(session: Session, *, run_id: int, source_id: str, at: datetime, kind: str,
                   detail: str, http_status: int | None = None, url: str | None = None,
                   text_sha256: str | None = None, pages: Sequence[RawPage] = ()) -> FetchOutcome:
    """A fetch that did not become a version. Its pages, when there were any, are kept as refused snapshots:
    the evidence of the refusal, and what `reextract` judges again after a declaration is fixed."""
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome=Outcome.FAILED, failure_kind=kind,
                           detail=detail, http_status=http_status, url=url, text_sha256=text_sha256)
    session.add(outcome)
    session.flush()
    _store_snapshots(session, outcome, pages, at)
    session.flush()
    return outcome


def replace_analysis(session: Session, change: Change, facts: ChangeFacts, *, at: datetime, run_id: int) -> None:
    """Give a stored change a new analysis, keeping the one it replaces in the record.

    Whether the change was announced is decided once, when it was detected,
    and is not touched: a re-analysis never announces anything.
    """
    session.add(ChangeAnalysisRow(
        change_id=change.id, run_id=run_id, replaced_at=at, kind=change.kind,
        flags=list(change.flags or []), severity=change.severity, summary=change.summary,
        evidence=list(change.evidence or []), words_added=change.words_added, words_removed=change.words_removed,
        analysed=change.analysed, note=change.note,
    ))
    change.kind = facts.kind
    change.analysed, change.note = facts.analysed, facts.note
    change.flags, change.severity, change.summary = list(facts.flags), facts.severity, facts.summary
    change.evidence = list(facts.evidence)
    change.words_added, change.words_removed = facts.words_added, facts.words_removed
    change.lines_added, change.lines_removed = facts.lines_added, facts.lines_removed
    session.flush()
