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
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from sqlalchemy import Row, and_, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage import blobs, ledger, texts
from analysis.vocabulary import ChangeKind, Severity
from storage.models import (Blob, Change, ChangeAnalysisRow, FetchOutcome, HeldText, Run, Snapshot, SourceFields,
                            SourceLock, SourceRow, Version)
from storage.db import core, insert_new
from storage.fleet import expire_jobs, run_alive
from storage.processes import alive
from storage.vocabulary import FailureKind, LedgerKind, Outcome, RunKind, RunStatus

RECENT_VERSIONS_FOR_REVERT = 5

# The statements every fetch runs, built once: on SQLite, building a statement costs several times what running
# it does (about 0.2 ms against 0.05 ms), and a fetch runs some twenty (bench/crawl_speed.py).
_SOURCE, _POSITION = bindparam("source_id"), bindparam("position")
_ACCEPTED = (Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED)
# Compared one by one: an IN list of constants is expanded into the statement at every execution.
_IS_ACCEPTED = or_(*(FetchOutcome.outcome == kind for kind in _ACCEPTED))
_NEWEST_VERSIONS = (select(Version.id, Version.sha256, Version.number, Version.first_seen, Version.last_confirmed)
                    .where(Version.source_id == _SOURCE).order_by(Version.number.desc())
                    .limit(RECENT_VERSIONS_FOR_REVERT + 1))
_CURRENT_VERSION_ID = (select(Version.id).where(Version.source_id == _SOURCE)
                       .order_by(Version.number.desc()).limit(1))
_LATEST_OUTCOME_ID = select(func.max(FetchOutcome.id)).where(FetchOutcome.source_id == _SOURCE)
_LATEST_AT = select(func.max(FetchOutcome.at).label("latest")).where(FetchOutcome.source_id == _SOURCE)
_RECENT_REFUSALS = (select(FetchOutcome.failure_kind, FetchOutcome.text_sha256).where(FetchOutcome.source_id == _SOURCE)
                    .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(50))
_PENDING = (select(FetchOutcome.id, FetchOutcome.text_sha256, FetchOutcome.at)
            .where(FetchOutcome.source_id == _SOURCE, FetchOutcome.outcome == Outcome.PENDING)
            .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(1))
_LOCK_RUN = select(SourceLock.run_id).where(SourceLock.source_id == _SOURCE)
_LATEST_UNFAILED = (select(FetchOutcome.id)
                    .where(FetchOutcome.source_id == _SOURCE, FetchOutcome.outcome != Outcome.FAILED)
                    .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(1).scalar_subquery())
# The latest unfailed outcome's version and its pages' content keys, in one statement (an outcome without pages:
# one row without a position).
_ACCEPTED_KEYS = (select(FetchOutcome.version_id, Snapshot.position, Snapshot.content_key).select_from(FetchOutcome)
                  .outerjoin(Snapshot, Snapshot.outcome_id == FetchOutcome.id)
                  .where(FetchOutcome.id == _LATEST_UNFAILED).order_by(Snapshot.position))
# The same, with the source's current version beside it: what the crawler reads of each source before a night.
_ACCEPTED_KEYS_AND_CURRENT = _ACCEPTED_KEYS.add_columns(_CURRENT_VERSION_ID.scalar_subquery().label("current_id"))
# `_ACCEPTED_KEYS`, with when the newest capture held for confirmation was made and the run holding the source,
# if any: what confirming a fetch by its keys reads.
_ACCEPTED_KEYS_AND_HELD = _ACCEPTED_KEYS.add_columns(
    _PENDING.with_only_columns(FetchOutcome.at).correlate(None).scalar_subquery().label("held_at"),
    _LOCK_RUN.scalar_subquery().label("lock_run"))
# Refused pages (challenge pages, error pages) are kept, but the pages that became versions are the better
# keyframes for the next one.
_PREVIOUS_KEYFRAME = (
    select(func.coalesce(Blob.base_sha256, Blob.sha256)).select_from(Snapshot)
    .join(FetchOutcome, FetchOutcome.id == Snapshot.outcome_id).join(Blob, Blob.sha256 == Snapshot.blob_sha256)
    .where(Snapshot.source_id == _SOURCE, Snapshot.position == _POSITION, _IS_ACCEPTED)
    .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc()).limit(1))
# Whether a page is stored already, and the row of the keyframe a new one at its position would be compressed
# against (`blobs.store_new`): one statement where there were three. A page served byte for byte again is
# stored already and reads no keyframe.
_KEYFRAME = aliased(Blob, name="keyframe")
_PAGE_STORED = select(Blob.sha256).where(Blob.sha256 == bindparam("sha256")).correlate(None)
_PAGE_AND_KEYFRAME = (
    select(_PAGE_STORED.scalar_subquery().label("stored"), _KEYFRAME.sha256, _KEYFRAME.base_sha256, _KEYFRAME.size,
           _KEYFRAME.data)
    .select_from(select(literal(1).label("one")).subquery("one"))
    .outerjoin(_KEYFRAME, and_(_KEYFRAME.sha256 == _PREVIOUS_KEYFRAME.correlate(None).scalar_subquery(),
                               ~_PAGE_STORED.exists())))
# FOR UPDATE (PostgreSQL) as `upsert_source` takes it: writers of one source queue on its row.
_DECLARED = (select(SourceRow.vendor, SourceRow.title, SourceRow.document_type, SourceRow.language, SourceRow.urls,
                    SourceRow.tags).where(SourceRow.id == _SOURCE).with_for_update())
_INSERT_SNAPSHOT = insert(Snapshot)
_INSERT_OUTCOME = insert(FetchOutcome)
_INSERT_VERSION = insert(Version)
_NAME_VERSION = (update(FetchOutcome).where(FetchOutcome.id == bindparam("named_outcome"))
                 .values(version_id=bindparam("new_version")))
_CONFIRM = (update(Version).where(Version.id == bindparam("version_id"))
            .values(last_confirmed=bindparam("confirmed_at")))


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

    kind: ChangeKind
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int
    flags: tuple[str, ...] = ()
    severity: Severity = Severity.NONE
    summary: str = ""
    evidence: tuple[dict[str, Any], ...] = ()
    announced: bool = False
    reverts_to_version_id: int | None = None
    analysed: bool = True
    analysis_note: str = ""  # why the flagger did not (fully) analyse it, when `analysed` is false


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upsert_source(session: Session, source: SourceFields) -> SourceRow:
    # FOR UPDATE (PostgreSQL): writers of one source queue here, so an import's lock on it and a crawl's check of
    # that lock cannot cross. SQLite has one writer at a time anyway.
    row = session.get(SourceRow, source.id, with_for_update=True)
    if row is None:
        row = SourceRow(id=source.id)
        session.add(row)
    row.vendor, row.title = source.vendor, source.title
    row.document_type, row.language = source.document_type, source.language
    row.urls, row.tags = list(source.urls), list(source.tags)
    session.flush()
    return row


def record_source(session: Session, source: SourceFields) -> None:
    """`upsert_source`, writing the source's row only when it differs from the declaration (it is the same on
    almost every fetch); the row is read FOR UPDATE either way, or inserted."""
    row = core(session).execute(_DECLARED, {"source_id": source.id}).first()
    declared = (source.vendor, source.title, source.document_type, source.language, list(source.urls),
                list(source.tags))
    if row is None:
        # A source's first record: inserted as declared (the new row is this transaction's until it commits),
        # unless another writer inserted it meanwhile, whose row is then read and locked as any other.
        if insert_new(session, SourceRow, id=source.id, vendor=source.vendor, title=source.title,
                      document_type=source.document_type, language=source.language, urls=list(source.urls),
                      tags=list(source.tags)):
            return
        row = core(session).execute(_DECLARED, {"source_id": source.id}).first()
    if row is None or tuple(row) != declared:
        upsert_source(session, source)


def start_run(session: Session, kind: RunKind, at: datetime, worker_id: int | None = None) -> Run:
    run = Run(kind=kind, status=RunStatus.RUNNING, started_at=at, pid=os.getpid(), host=socket.gethostname(),
              sources_checked=0, new_versions=0, changes=0, failures=0, worker_id=worker_id)
    session.add(run)
    session.flush()
    return run


def _alive(pid: int | None) -> bool:
    # A run of this very process is not left behind by anyone.
    return bool(pid) and pid != os.getpid() and alive(pid)


# A run on another machine sharing the database cannot be checked for life:
# it counts as gone only after this long.
FOREIGN_RUN_TIMEOUT = timedelta(hours=24)


def _gone(pid: int | None, host: str | None, since: datetime, at: datetime) -> bool:
    if host in (None, socket.gethostname()):
        return not _alive(pid)
    return at - since > FOREIGN_RUN_TIMEOUT


def _run_gone(session: Session, run: Run, at: datetime) -> bool:
    # A distributed night lives while its coordinator's heartbeat does, on whichever host it runs.
    coordinated = run_alive(session, run, at)
    if coordinated is not None:
        return not coordinated
    return _gone(run.pid, run.host, run.started_at, at)


def abort_stale_runs(session: Session, at: datetime) -> int:
    """Mark runs left `running` by a process that is gone as `aborted`, and release what they held."""
    stale = [run for run in session.scalars(select(Run).where(Run.status == RunStatus.RUNNING))
             if _run_gone(session, run, max(at, run.started_at))]
    for run in stale:
        run.status, run.finished_at = RunStatus.ABORTED, max(at, run.started_at)
        for lock in session.scalars(select(SourceLock).where(SourceLock.run_id == run.id)):
            session.delete(lock)
        if run.worker_id is not None:
            expire_jobs(session, run.id, run.finished_at, "the night's coordinator stopped")
    session.flush()
    return len(stale)


def lock_holder(session: Session, source_id: str, run_id: int) -> SourceLock | None:
    """The lock another live run holds on this source, or None (a lock left by a dead process is removed)."""
    if core(session).execute(_LOCK_RUN, {"source_id": source_id}).scalar() in (None, run_id):
        return None
    lock = session.get(SourceLock, source_id)
    if lock is None or lock.run_id == run_id:
        return None
    if _gone(lock.pid, lock.host, lock.since, datetime.now(timezone.utc)):
        session.delete(lock)
        session.flush()
        return None
    return lock


def lock_source(session: Session, source_id: str, run_id: int) -> SourceLock | None:
    """Take this source for `run_id`; the lock of another live run when it already holds it."""
    held = lock_holder(session, source_id, run_id)
    if held is not None:
        return held
    if session.get(SourceLock, source_id) is None:
        session.add(SourceLock(source_id=source_id, run_id=run_id, pid=os.getpid(), host=socket.gethostname(),
                               since=datetime.now(timezone.utc)))
        session.flush()
    return None


def unlock_source(session: Session, source_id: str, run_id: int) -> None:
    lock = session.get(SourceLock, source_id)
    if lock is not None and lock.run_id == run_id:
        session.delete(lock)
        session.flush()


def finish_run(session: Session, run_id: int, at: datetime, unrecorded: int = 0) -> Run:
    """The run finished at `at`, its counts those of its outcomes; `unrecorded`: sources it fetched or meant to
    whose outcome the database would not take (a lock held too long, a full disk), which have no outcome to count
    but make the run no better than partial."""
    run = session.get_one(Run, run_id)
    counts = dict(session.execute(
        select(FetchOutcome.outcome, func.count()).where(FetchOutcome.run_id == run_id).group_by(FetchOutcome.outcome)
    ).all())
    run.sources_checked = sum(counts.values())
    run.failures = counts.get(Outcome.FAILED, 0)
    run.new_versions = counts.get(Outcome.FIRST, 0) + counts.get(Outcome.CHANGED, 0)
    run.changes = counts.get(Outcome.CHANGED, 0)
    run.finished_at = at
    failing, meant = run.failures + unrecorded, run.sources_checked + unrecorded
    if meant and failing == meant:
        run.status = RunStatus.FAILED
    elif failing:
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.OK
    return run


def current_version(session: Session, source_id: str) -> Version | None:
    """The source's newest version (its text: `storage.texts`)."""
    return session.scalars(select(Version).where(Version.source_id == source_id)
                           .order_by(Version.number.desc()).limit(1)).first()


def current_version_id(session: Session, source_id: str) -> int | None:
    return core(session).execute(_CURRENT_VERSION_ID, {"source_id": source_id}).scalar()


def latest_outcome_id(session: Session, source_id: str) -> int | None:
    return core(session).execute(_LATEST_OUTCOME_ID, {"source_id": source_id}).scalar()


def latest_record_time(session: Session, source_id: str) -> datetime | None:
    """The time of the source's latest outcome: a fetch, an imported file or a failure."""
    return core(session).execute(_LATEST_AT, {"source_id": source_id}).scalar()


def refused_streak(session: Session, source_id: str, kind: str) -> tuple[str | None, int]:
    """The text the source's latest outcomes refused for this reason, and how many of them in a row did."""
    sha, count = None, 0
    for failure_kind, text_sha in core(session).execute(_RECENT_REFUSALS, {"source_id": source_id}):
        if failure_kind != kind or text_sha is None or sha not in (None, text_sha):
            break
        sha, count = text_sha, count + 1
    return sha, count


def newest_versions(session: Session, source_id: str) -> Sequence[Row[Any]]:
    """The id, sha256, number, first_seen and last_confirmed of the source's newest versions, newest first: its
    current one and the `RECENT_VERSIONS_FOR_REVERT` before it (texts: `storage.texts`)."""
    return core(session).execute(_NEWEST_VERSIONS, {"source_id": source_id}).all()


def pending_outcome(session: Session, source_id: str) -> Row[Any] | None:
    """The id, text_sha256 and time of the capture of this source held for confirmation, if any (there is at
    most one at a time)."""
    return core(session).execute(_PENDING, {"source_id": source_id}).first()


def held_text(session: Session, sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    row = session.get(HeldText, sha256)
    return row.text if row is not None else None


def _hold(session: Session, text: str) -> str:
    sha = text_sha256(text)
    if session.get(HeldText, sha) is None:
        insert_new(session, HeldText, sha256=sha, text=text)
    return sha


def latest_accepted_page(session: Session, source_id: str, position: int) -> str | None:
    """The sha256 of the newest page at this position of a fetch that became (or confirmed) a version."""
    return session.scalar(
        select(Snapshot.blob_sha256).join(FetchOutcome, FetchOutcome.id == Snapshot.outcome_id)
        .where(Snapshot.source_id == source_id, Snapshot.position == position,
               _IS_ACCEPTED)
        .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc()).limit(1))


def outcome_at(session: Session, source_id: str, at: datetime) -> FetchOutcome | None:
    return session.scalars(select(FetchOutcome).where(
        FetchOutcome.source_id == source_id, FetchOutcome.at == at).order_by(FetchOutcome.id).limit(1)).first()


def _store_snapshots(session: Session, outcome_id: int, source_id: str, pages: Sequence[RawPage],
                     at: datetime) -> list[str]:
    """The pages kept as the outcome's snapshots, each compressed against the keyframe of the newest page at its
    position that became (or confirmed) a version; their sha256s, in order."""
    stored_pages = []
    for position, page in enumerate(pages):
        digest = blobs.sha256_hex(page.body)
        found = core(session).execute(_PAGE_AND_KEYFRAME,
                                      {"source_id": source_id, "position": position, "sha256": digest}).one()
        if found.stored is None:
            blobs.store_new(session, page.body, digest, found if found.sha256 is not None else None)
        core(session).execute(_INSERT_SNAPSHOT, {
            "outcome_id": outcome_id, "source_id": source_id, "position": position, "url": page.url,
            "final_url": page.final_url, "http_status": page.status, "content_type": page.content_type,
            "fetched_at": page.fetched_at or at, "blob_sha256": digest, "content_key": page.content_key,
        })
        stored_pages.append(digest)
    return stored_pages


def accepted_content_keys(session: Session, source_id: str, current_id: int | None) -> tuple[str | None, ...] | None:
    """The content keys, by position, of the pages of the source's latest accepted fetch, when that fetch's
    text is the current version (``current_id``); None otherwise."""
    if current_id is None:
        return None
    return _keys_if_current(core(session).execute(_ACCEPTED_KEYS, {"source_id": source_id}).all(), current_id)


def current_accepted_content_keys(session: Session, source_id: str) -> tuple[str | None, ...] | None:
    """`accepted_content_keys` against the source's current version, read in the same statement."""
    rows = core(session).execute(_ACCEPTED_KEYS_AND_CURRENT, {"source_id": source_id}).all()
    return _keys_if_current(rows, rows[0].current_id if rows else None)


def confirmable_keys(session: Session, source_id: str, current: Row[Any], run_id: int) -> tuple[str | None, ...] | None:
    """`accepted_content_keys` against the current version (`current`: its `newest_versions` row), when no capture
    held for confirmation counts against it (none made since the version was last confirmed: an older one no
    longer does) and no run but `run_id` holds the source (a lock left by a dead process included: `lock_holder`
    clears those); None otherwise. One statement: what a fetch found unchanged by its keys reads."""
    rows = core(session).execute(_ACCEPTED_KEYS_AND_HELD, {"source_id": source_id}).all()
    if not rows or rows[0].lock_run not in (None, run_id):
        return None
    if rows[0].held_at is not None and held_counts(rows[0].held_at, current):
        return None
    return _keys_if_current(rows, current.id)


def held_counts(held_at: datetime, current: Version | Row[Any]) -> bool:
    """Whether a capture held for confirmation since `held_at` still stands against the current version: one
    made before the version was last confirmed no longer does."""
    return held_at >= current.last_confirmed


def _keys_if_current(rows: Sequence[Row[Any]], current_id: int | None) -> tuple[str | None, ...] | None:
    """The content keys in `_ACCEPTED_KEYS`' rows, when their fetch's version is `current_id`."""
    if current_id is None or not rows or rows[0].version_id != current_id:
        return None
    return tuple(row.content_key for row in rows if row.position is not None)


def reverted_version(session: Session, source_id: str, new_sha: str, current: Version) -> Version | None:
    """The recent version (before the current one) whose text this one returns to, if any."""
    recent = session.scalars(
        select(Version).where(Version.source_id == source_id, Version.id != current.id)
        .order_by(Version.number.desc()).limit(RECENT_VERSIONS_FOR_REVERT)
    ).all()
    return next((v for v in recent if v.sha256 == new_sha), None)


_LOOK_UP: Any = object()


def current_version_row(session: Session, source_id: str) -> Row[Any] | None:
    """The id, sha256, number, first_seen and last_confirmed of the source's newest version."""
    return core(session).execute(_NEWEST_VERSIONS, {"source_id": source_id}).first()


@dataclass(frozen=True)
class Recorded:
    """What `record_accepted` (or `record_confirmation`) recorded: the outcome's id and kind, and the number of
    the version it made or confirmed."""

    outcome_id: int
    outcome: Outcome
    version_number: int


def _outcome_values(run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage], outcome: Outcome,
                    version_id: int | None) -> dict[str, Any]:
    return {"run_id": run_id, "source_id": source_id, "at": at, "outcome": outcome,
            "http_status": pages[-1].status if pages else None, "url": pages[0].final_url if pages else None,
            "version_id": version_id}


def record_confirmation(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                        current: Version | Row[Any]) -> Recorded:
    """Keep the raw pages of a fetch that found the current version (`current`: the version or its
    `current_version_row`, read in this session) again, and confirm the version at `at`."""
    inserted = core(session).execute(_INSERT_OUTCOME, _outcome_values(run_id, source_id, at, pages, Outcome.UNCHANGED,
                                                                      current.id))
    outcome_id = inserted.inserted_primary_key[0]
    _store_snapshots(session, outcome_id, source_id, pages, at)
    confirmed = max(current.last_confirmed, at)
    if isinstance(current, Version):
        current.last_confirmed = confirmed
    else:
        core(session).execute(_CONFIRM, {"version_id": current.id, "confirmed_at": confirmed})
    session.flush()
    return Recorded(outcome_id, Outcome.UNCHANGED, current.number)


def record_accepted(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                    text: str, change: ChangeFacts | None = None, current: Version | Row[Any] | None = _LOOK_UP
                    ) -> Recorded:
    """Keep the raw pages; add a version (with `change`, its step from the current one) only when the text
    differs from the current version (`current`, when the caller has just read it in this session: the version
    or its `current_version_row`).

    The outcome and the version are inserted without the ORM's unit of work (which costs several statements'
    worth): nothing else in the transaction needs them as objects."""
    if current is _LOOK_UP:
        # Only its number, digest and dates are needed here: its text is not read.
        current = current_version(session, source_id)
    if current is not None and current.sha256 == text_sha256(text):
        return record_confirmation(session, run_id=run_id, source_id=source_id, at=at, pages=pages, current=current)
    if current is not None and change is None:
        raise ValueError(f"{source_id}: a new version needs the facts of its change from v{current.number}")
    kind = Outcome.FIRST if current is None else Outcome.CHANGED
    connection = core(session)
    # The outcome first, the version naming it, then the outcome naming its version (each refers to the other).
    outcome_id = connection.execute(_INSERT_OUTCOME, _outcome_values(run_id, source_id, at, pages, kind,
                                                                     None)).inserted_primary_key[0]
    stored_pages = _store_snapshots(session, outcome_id, source_id, pages, at)
    number = current.number + 1 if current is not None else 1
    sha = _store_text(session, text, current)
    version_id = connection.execute(_INSERT_VERSION, {
        "source_id": source_id, "number": number, "sha256": sha, "first_seen": at, "last_confirmed": at,
        "outcome_id": outcome_id}).inserted_primary_key[0]
    connection.execute(_NAME_VERSION, {"named_outcome": outcome_id, "new_version": version_id})
    ledger.append(session, LedgerKind.VERSION, source_id, number, sha, stored_pages, at)
    if current is not None:
        assert change is not None
        _add_change(session, source_id, current.id, version_id, at, change)
    return Recorded(outcome_id, kind, number)


def record_success(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                   text: str, change: ChangeFacts | None = None, current: Version | Row[Any] | None = _LOOK_UP
                   ) -> FetchOutcome:
    """`record_accepted`, giving the outcome's row (read back: for the callers that want it as an object)."""
    recorded = record_accepted(session, run_id=run_id, source_id=source_id, at=at, pages=pages, text=text,
                               change=change, current=current)
    return session.get_one(FetchOutcome, recorded.outcome_id)


def record_failure(session: Session, *, run_id: int, source_id: str, at: datetime, kind: FailureKind,
                   detail: str, http_status: int | None = None, url: str | None = None,
                   text: str | None = None, pages: Sequence[RawPage] = ()) -> FetchOutcome:
    """A fetch that did not become a version. Its pages, when there were any, are kept as refused snapshots:
    the evidence of the refusal, and what `reextract` judges again after a declaration is fixed. A refused
    text (too_short) is kept too, for `review`."""
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome=Outcome.FAILED, failure_kind=kind,
                           detail=detail, http_status=http_status, url=url,
                           text_sha256=_hold(session, text) if text is not None else None)
    session.add(outcome)
    session.flush()
    _store_snapshots(session, outcome.id, source_id, pages, at)
    session.flush()
    return outcome


def record_pending(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                   text: str, detail: str) -> FetchOutcome:
    """A capture that would replace almost all of the current version, held until a later fetch confirms it:
    its pages and text are kept, no version is made and nothing is announced."""
    outcome = FetchOutcome(run_id=run_id, source_id=source_id, at=at, outcome=Outcome.PENDING, detail=detail,
                           http_status=pages[-1].status if pages else None,
                           url=pages[0].final_url if pages else None, text_sha256=_hold(session, text))
    session.add(outcome)
    session.flush()
    _store_snapshots(session, outcome.id, source_id, pages, at)
    session.flush()
    return outcome


def _store_text(session: Session, text: str, current: Version | None) -> str:
    """Store a new version's text, compressed against the keyframe its source's current version's text uses."""
    return texts.store(session, text, texts.keyframe_of(session, current.sha256) if current is not None else None)


def _add_change(session: Session, source_id: str, old_id: int, new_id: int, at: datetime, change: ChangeFacts,
                note: str | None = None) -> Change:
    row = Change(
        source_id=source_id, from_version_id=old_id, to_version_id=new_id, detected_at=at,
        words_added=change.words_added, words_removed=change.words_removed,
        lines_added=change.lines_added, lines_removed=change.lines_removed,
        kind=change.kind, reverts_to_version_id=change.reverts_to_version_id,
        flags=list(change.flags), severity=change.severity, summary=change.summary,
        evidence=list(change.evidence), announced=change.announced,
        announced_flags=list(change.flags) if change.announced else [],
        analysed=change.analysed, analysis_note=change.analysis_note, note=note,
    )
    session.add(row)
    session.flush()
    return row


def version_from_outcome(session: Session, outcome: FetchOutcome, text: str, change: ChangeFacts, *, at: datetime,
                         note: str, confirmed: bool = True) -> Version:
    """Make the held or refused text of an earlier fetch the source's next version, first seen when it was
    fetched; its change is recorded at `at` (when it was confirmed or accepted), with `note` saying why.
    `confirmed`: a fetch at `at` found the same text, so the version was last confirmed then; a text a reader
    accepts was confirmed by no fetch since its own."""
    current = current_version(session, outcome.source_id)
    if current is None:
        raise ValueError(f"{outcome.source_id}: has no version for a held text to follow")
    if outcome.at < current.last_confirmed:
        raise ValueError(f"{outcome.source_id}: the text fetched at {outcome.at.isoformat()} is older than the last "
                         f"confirmation of v{current.number} ({current.last_confirmed.isoformat()})")
    version = Version(source_id=outcome.source_id, number=current.number + 1,
                      sha256=_store_text(session, text, current), first_seen=outcome.at,
                      last_confirmed=max(outcome.at, at) if confirmed else outcome.at, outcome_id=outcome.id)
    session.add(version)
    session.flush()
    ledger.append_version(session, version)
    if outcome.outcome == Outcome.PENDING:
        outcome.outcome = Outcome.CHANGED
    outcome.version_id = version.id
    _add_change(session, outcome.source_id, current.id, version.id, at, change, note)
    return version


def drop_pending(session: Session, outcome: FetchOutcome, reason: str) -> None:
    """A held capture that a later fetch did not confirm: it stays in the record as `dropped`, never a version."""
    outcome.outcome = Outcome.DROPPED
    outcome.detail = f"{outcome.detail}; dropped: {reason}" if outcome.detail else f"dropped: {reason}"
    session.flush()


def replace_analysis(session: Session, change: Change, facts: ChangeFacts, *, at: datetime, run_id: int) -> None:
    """Give a stored change a new analysis, keeping the one it replaces in the record.

    Whether the change was announced is decided once, when it was detected,
    and is not touched: a re-analysis never announces anything.
    """
    session.add(ChangeAnalysisRow(
        change_id=change.id, run_id=run_id, replaced_at=at, kind=change.kind,
        flags=list(change.flags or []), severity=change.severity, summary=change.summary,
        evidence=list(change.evidence or []), words_added=change.words_added, words_removed=change.words_removed,
        lines_added=change.lines_added, lines_removed=change.lines_removed,
        analysed=change.analysed, analysis_note=change.analysis_note,
    ))
    change.kind = facts.kind
    change.analysed, change.analysis_note = facts.analysed, facts.analysis_note
    change.flags, change.severity, change.summary = list(facts.flags), facts.severity, facts.summary
    change.evidence = list(facts.evidence)
    change.words_added, change.words_removed = facts.words_added, facts.words_removed
    change.lines_added, change.lines_removed = facts.lines_added, facts.lines_removed
    session.flush()
