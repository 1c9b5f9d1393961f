"""From judged pages to the record: one source, one short write transaction.

Most fetches of a night have nothing to analyse: a failure, a first version,
or the current version's text again (the crawler found the pages' content keys
unchanged, or extracted the same text). `store_outcome` records them in one
write transaction that locks the source's row first, then reads, decides
(`ingest.decide`, comparing digests) and writes; a fetch whose pages the
crawler found with the content keys of the latest accepted fetch, when that
fetch's text is the current version, confirms it without the text being
read. A text that differs from the current version needs its change
analysed, which may take long: that transaction is rolled back, and the
fetch is decided from one consistent read outside any write lock, then
applied in a short write transaction provided nothing moved meanwhile (else
it is decided again). `store_quickly` is the
first of these alone, for a crawl to record in its own thread what needs
neither analysis nor waiting for another writer. A crash at any moment
leaves all of the fetch or none of it. `record_text` records a re-derived text
(`reextract`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Protocol, Sequence

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ingest.changes import change_facts
from ingest.declarations import Source
from ingest.decide import Decision, Hold, Known, NeedsAnalysis, Refuse, SourceState, decide
from ingest.guard import HTML_TYPES, content_type_charset, ends_document
from ingest.judge import Accepted, GuardPolicy, PreparedPage, as_expected, reuses_accepted
from ingest.results import FetchFailure, SourceResult
from storage import blobs, texts
from storage.db import lock_not_available, make_engine, reading, session_factory, transaction
from storage.direct import LockNotGranted, NeedsSession, direct_transaction
from storage.models import FetchOutcome, SourceLock, SourceRow
from storage.record import (RawPage, accepted_content_keys, confirmable_keys, current_accepted_content_keys,
                            current_version, current_version_id, current_version_row, drop_pending, held_counts,
                            held_text, latest_accepted_page, latest_outcome_id, latest_record_time, lock_holder,
                            newest_versions, pending_outcome, record_accepted, record_confirmation, record_failure,
                            record_pending, record_source, record_success, refused_streak, reverted_version,
                            text_sha256, version_from_outcome)
from storage.times import utc_text
from storage.vocabulary import FailureKind, Outcome

# Attempts at deciding outside the write lock before deciding inside it.
OPTIMISTIC_ATTEMPTS = 3

log = logging.getLogger(__name__)


class SourceBusy(RuntimeError):
    """Another run holds the source (an import appending its history): this fetch must wait."""

    def __init__(self, source_id: str, lock: SourceLock):
        super().__init__(f"{source_id} is being written by run {lock.run_id} (pid {lock.pid} on {lock.host}, "
                         f"since {lock.since.isoformat()})")
        self.source_id = source_id
        self.run_id = lock.run_id


class BehindTheRecord(RuntimeError):
    """The fetch's time is earlier than the source's latest outcome (a clock set back, `crawl --now` in the past,
    a file imported dated ahead of the crawl): recorded, it would put a version before one already recorded, so it
    is not recorded at all, and said so."""

    def __init__(self, source_id: str, at: datetime, latest: datetime):
        # To the second, as every time is shown; to the microsecond when that would show them equal.
        shown = utc_text if utc_text(at) != utc_text(latest) else (
            lambda t: t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        super().__init__(f"its record already reaches {shown(latest)}, later than this fetch's time ({shown(at)}): "
                         "a history is only ever extended (another run recorded it meanwhile, a clock set back, or "
                         f"a file imported dated ahead?); a fetch at {shown(latest)} or later records it")
        self.source_id, self.at, self.latest = source_id, at, latest


class AlreadyRecorded(RuntimeError):
    """The source has its outcome in this run already (a job retried elsewhere got there first)."""


class OutcomeClaim(Protocol):
    """What a recording must hold besides the source's row lock (a distributed night's job lease)."""

    def check(self, session: Session, source_id: str) -> None:
        """Called with the source's row locked, before anything is written: raising records nothing."""

    def sign(self, session: Session, source_id: str) -> None:
        """Called after the outcome is written, in the same transaction."""


class _Moved(RuntimeError):
    """The record changed between the read and the write: decide again."""


def record_text(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                text: str, technical: bool = False) -> FetchOutcome:
    """Record an accepted text: a confirmation of the current version, or a new version with its change."""
    current = current_version(session, source_id)
    facts = None
    sha = text_sha256(text)
    if current is not None and current.sha256 != sha:
        reverted = reverted_version(session, source_id, sha, current)
        facts = change_facts(texts.of(session, current), text, session.get_one(SourceRow, source_id).language,
                             reverts_to_version_id=reverted.id if reverted is not None else None, technical=technical)
    return record_success(session, run_id=run_id, source_id=source_id, at=at, pages=pages, text=text, change=facts,
                          current=current)


def _earlier_ended(session: Session, source_id: str, pages: Sequence[RawPage]) -> tuple[bool | None, ...]:
    """For each imported HTML page, whether the source's latest accepted page at its position ended its document."""
    ended: list[bool | None] = []
    for position, page in enumerate(pages):
        media, _ = content_type_charset(page.content_type)
        sha = latest_accepted_page(session, source_id, position) if page.status is None and media in HTML_TYPES else None
        try:
            ended.append(ends_document(blobs.read(session, sha)) if sha is not None else None)
        except blobs.BlobIntegrityError:
            ended.append(None)
    return tuple(ended)


def _stamp(session: Session, source_id: str) -> tuple[int | None, ...]:
    """What identifies the source's state: its newest version and its newest outcome."""
    return (current_version_id(session, source_id), latest_outcome_id(session, source_id))


def load_state(session: Session, source_id: str, pages: Sequence[RawPage], stamp: bool = True,
               newest: Sequence[Any] | None = None, analyse: bool = True) -> SourceState:
    """What the record holds of the source; with `stamp`, what identifies that state, for a write in another
    transaction to check that it has not moved (a read inside the write's own transaction needs none).
    `newest`: the source's `newest_versions`, when the caller has read them in this session. Without
    `analyse`, for `decide(..., analyse=False)`, which compares only digests, what only a comparison of texts
    reads is left out: the text of the version before the current one, and the streak of refusals."""
    if newest is None:
        newest = newest_versions(session, source_id)
    if not newest:
        return SourceState(earlier_ended=_earlier_ended(session, source_id, pages),
                           stamp=_stamp(session, source_id) if stamp else ())
    current, earlier = newest[0], newest[1:]
    pending = pending_outcome(session, source_id)
    pending_text = held_text(session, pending.text_sha256) if pending is not None else None
    refused_sha, refused_count = refused_streak(session, source_id, FailureKind.TOO_SHORT) if analyse else (None, 0)
    keys = accepted_content_keys(session, source_id, current.id)
    # Only the version just before the current one is ever compared as text; the others only by sha256.
    known = texts.read_many(session, [current.sha256, *(v.sha256 for v in earlier[:1] if analyse)])
    current_text = known[current.sha256]
    return SourceState(
        current=Known(current.id, current.sha256, current_text, current.number, current.first_seen),
        earlier=tuple(Known(v.id, v.sha256, known.get(v.sha256, "") if i == 0 else "", v.number, v.first_seen)
                      for i, v in enumerate(earlier)),
        pending=Known(pending.id, pending.text_sha256 or "", pending_text, 0, pending.at)
        if pending is not None and pending_text is not None and held_counts(pending.at, current) else None,
        refused_sha256=refused_sha, refused_count=refused_count,
        earlier_ended=_earlier_ended(session, source_id, pages),
        stamp=(current.id, latest_outcome_id(session, source_id)) if stamp else (),
        accepted=Accepted(keys, current_text) if keys else None,
    )


@contextmanager
def _claimed(session: Session, source: Source, at: datetime, claim: OutcomeClaim | None) -> Iterator[None]:
    """Around a write: the source's row taken (`record_source`: FOR UPDATE on PostgreSQL, the write lock on SQLite),
    the `claim` checked and a time earlier than the source's record refused (`BehindTheRecord`) first, the claim
    signed after."""
    record_source(session, source)
    if claim is not None:
        claim.check(session, source.id)  # a lost lease or an outcome recorded elsewhere is said as such
    latest = latest_record_time(session, source.id)
    if latest is not None and at < latest:
        raise BehindTheRecord(source.id, at, latest)
    yield
    if claim is not None:
        claim.sign(session, source.id)


def _apply(session: Session, decision: Decision, *, run_id: int, source: Source, at: datetime,
           pages: Sequence[RawPage], expect: tuple[int | None, ...] | None,
           claim: OutcomeClaim | None = None) -> SourceResult:
    with _claimed(session, source, at, claim):
        return _write(session, decision, run_id=run_id, source=source, at=at, pages=pages, expect=expect)


def _decide_locked(session: Session, *, run_id: int, source: Source, at: datetime, pages: Sequence[RawPage],
                   failure: FetchFailure | None, policy: GuardPolicy, prepared: Sequence[PreparedPage | None],
                   claim: OutcomeClaim | None, imported: bool, analyse: bool = True) -> SourceResult:
    """Read, decide and write with the source's row locked from the start: no other writer can record the source
    in between, so the state read needs no stamp and the write no check. Without `analyse`, raises
    `NeedsAnalysis` (the caller rolls back) when the fetch's text must be compared with the record beyond its
    digest."""
    with _claimed(session, source, at, claim):
        newest = newest_versions(session, source.id)
        if failure is None and newest:
            confirmed = _confirmed_by_keys(session, run_id=run_id, source=source, at=at, pages=pages,
                                           prepared=prepared, current=newest[0])
            if confirmed is not None:
                return confirmed
        state = load_state(session, source.id, pages, stamp=False, newest=newest, analyse=analyse)
        decision = decide(source, pages, failure, state, policy, at, prepared, imported, analyse)
        return _write(session, decision, run_id=run_id, source=source, at=at, pages=decision.pages or pages,
                      expect=None, current=newest[0] if newest else None)


def _confirmed_by_keys(session: Session, *, run_id: int, source: Source, at: datetime, pages: Sequence[RawPage],
                       prepared: Sequence[PreparedPage | None], current: Any) -> SourceResult | None:
    """The fetch recorded as confirming the current version (`current`: its `newest_versions` row), when the
    crawler found every page with the content key it had in the latest accepted fetch, whose text is that
    version, the fetch guard passes the pages, no capture held for confirmation counts and no other run holds
    the source: what `decide` concludes by comparing the texts' digests, concluded without reading the version's
    text. None, having written nothing, for any other fetch, which is decided by its text (a held source is then
    met, and waited for, as any fetch meets it).

    The version's stored text is not read back, so it is not checked here against its digest either, as it is
    whenever a text is read: `policywatch check` verifies every stored text."""
    if not as_expected(pages, prepared):
        return None
    keys = confirmable_keys(session, source.id, current, run_id)
    if not keys:
        return None
    keyed = reuses_accepted(source, pages, prepared, keys, _earlier_ended(session, source.id, pages))
    if keyed is None:
        return None
    recorded = record_confirmation(session, run_id=run_id, source_id=source.id, at=at, pages=keyed, current=current)
    return SourceResult(source.id, recorded.outcome, recorded.version_number)


_READ: Any = object()


def _write(session: Session, decision: Decision, *, run_id: int, source: Source, at: datetime,
           pages: Sequence[RawPage], expect: tuple[int | None, ...] | None, current: Any = _READ) -> SourceResult:
    """`current`: the source's `current_version_row`, when it was read in this transaction with the source's
    row locked."""
    held = lock_holder(session, source.id, run_id)
    if held is not None:
        raise SourceBusy(source.id, held)
    if current is _READ:
        # Read once for both the check and the write: the version a confirmation is recorded against.
        current = current_version_row(session, source.id)
    if expect is not None and (current.id if current is not None else None,
                               latest_outcome_id(session, source.id)) != expect:
        raise _Moved()
    if decision.drop is not None:
        drop_pending(session, session.get_one(FetchOutcome, decision.drop[0].id), decision.drop[1])
    if decision.confirm is not None:
        confirm = decision.confirm
        current = version_from_outcome(session, session.get_one(FetchOutcome, confirm.pending.id),
                                       confirm.pending.text, confirm.change, at=at, note=confirm.note)
    verdict = decision.verdict
    if isinstance(verdict, Refuse):
        failure = verdict.failure
        record_failure(session, run_id=run_id, source_id=source.id, at=at, kind=failure.kind, detail=failure.detail,
                       http_status=failure.http_status, url=failure.url, text=verdict.text, pages=pages)
        return SourceResult(source.id, Outcome.FAILED, failure=failure)
    if isinstance(verdict, Hold):
        record_pending(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict.text,
                       detail=verdict.detail)
        return SourceResult(source.id, Outcome.PENDING, detail=verdict.detail)
    outcome = record_accepted(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict.text,
                              change=verdict.change, current=current)
    if decision.confirm is not None and outcome.outcome == Outcome.UNCHANGED:
        return SourceResult(source.id, Outcome.CHANGED, outcome.version_number, detail=decision.confirm.note)
    return SourceResult(source.id, outcome.outcome, outcome.version_number)


def _extracted(pages: Sequence[RawPage], prepared: Sequence[PreparedPage | None], failure: FetchFailure | None) -> bool:
    """Whether deciding needs no extraction: a failure, or pages the crawler has extracted already."""
    return failure is not None or (len(prepared) == len(pages) and all(p is not None for p in prepared))


def store_quickly(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None, policy: GuardPolicy = GuardPolicy(),
                  prepared: Sequence[PreparedPage | None] = (), claim: OutcomeClaim | None = None
                  ) -> SourceResult | None:
    """`store_outcome` for a fetch with nothing to analyse (a failure, a first version, the current version's
    text again: most of a night), in one short write transaction; None, having recorded nothing, for any other
    fetch, for pages the crawler did not extract, and when another writer holds a lock the transaction needs
    (with `factory` bound to an engine with a lock timeout of 0, `make_engine(..., lock_timeout=0)`, that is
    known at once). A crawl records here, in its own thread, what needs neither analysis nor waiting, and hands
    the rest to `store_outcome` in another thread, so that fetching goes on meanwhile.

    Raises as `store_outcome` does: `SourceBusy`, and whatever a `claim` raises."""
    if not _extracted(pages, prepared, failure):
        return None
    if claim is None and failure is None:
        # A failure is recorded through the ORM's unit of work: it would only be tried here and then again.
        try:
            return _by_digest(factory, direct_transaction, run_id=run_id, source=source, at=at, pages=pages,
                              failure=None, policy=policy, prepared=prepared, claim=None)
        except LockNotGranted:
            return None  # a Session would wait for the lock as long again
        except NeedsSession as why:
            log.debug("%s: recorded through a Session: %s", source.id, why)
    try:
        return _by_digest(factory, run_id=run_id, source=source, at=at, pages=pages, failure=failure, policy=policy,
                          prepared=prepared, claim=claim)
    except DBAPIError as exc:
        if lock_not_available(exc):
            return None
        raise


def _by_digest(factory: sessionmaker[Session], opened: Callable[..., Any] = transaction, **fetch: Any
               ) -> SourceResult | None:
    """The fetch read, decided by digest and written in one transaction with the source's row locked; None,
    having recorded nothing, when it needs a comparison of texts (`NeedsAnalysis`).

    `opened`: the transaction, a Session's (`storage.db.transaction`) or one on SQLite's own connection
    (`storage.direct.direct_transaction`: a 1.1 MB page found unchanged costs 1.6–2.3 ms less to record,
    `bench/record_speed.py`), which raises `NeedsSession`, having written nothing, for whatever it does not do (a
    source's row to rewrite, a page refused or held, another run's lock to look at, another engine, an error of
    SQLite's) and `LockNotGranted` for a write lock not granted within the engine's lock timeout."""
    try:
        with opened(factory) as session:
            return _decide_locked(session, imported=False, analyse=False, **fetch)
    except NeedsAnalysis:
        return None


def store_outcome(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None,
                  policy: GuardPolicy = GuardPolicy(), prepared: Sequence[PreparedPage | None] = (),
                  claim: OutcomeClaim | None = None, imported: bool = False) -> SourceResult:
    """Judge the pages against the source's record and record the result, in one write transaction; `imported`:
    the pages are an imported file's.

    `prepared`: what the crawler already extracted of each page. Raises
    `SourceBusy` (and records nothing) while another run holds the source; with a `claim`, whatever
    its `check` raises (`AlreadyRecorded`, a lost lease), also recording nothing.
    """
    if not imported and _extracted(pages, prepared, failure):
        # Most fetches of a night need no analysis (a failure, a first version, the current version's text again):
        # they are read, decided and written in one transaction. The others are rolled back and decided outside it.
        recorded = _by_digest(factory, run_id=run_id, source=source, at=at, pages=pages, failure=failure,
                              policy=policy, prepared=prepared, claim=claim)
        if recorded is not None:
            return recorded
    for _ in range(OPTIMISTIC_ATTEMPTS):
        with reading(factory) as session:
            state = load_state(session, source.id, pages)
        decision = decide(source, pages, failure, state, policy, at, prepared, imported)
        try:
            with transaction(factory) as session:
                return _apply(session, decision, run_id=run_id, source=source, at=at,
                              pages=decision.pages or pages, expect=state.stamp, claim=claim)
        except _Moved:
            continue
    with transaction(factory) as session:
        return _decide_locked(session, run_id=run_id, source=source, at=at, pages=pages, failure=failure,
                              policy=policy, prepared=prepared, claim=claim, imported=imported)


def accepted_keys_by_source(db_url: str, source_ids: Sequence[str]) -> dict[str, tuple[str | None, ...]]:
    """For each source, the content keys of its latest accepted fetch when its text is the current version
    (what the crawler compares a page with before converting it); sources without any are left out."""
    engine = make_engine(db_url)
    try:
        with reading(session_factory(engine)) as session:
            found = {}
            for source_id in source_ids:
                keys = current_accepted_content_keys(session, source_id)
                if keys:
                    found[source_id] = keys
            return found
    finally:
        engine.dispose()
