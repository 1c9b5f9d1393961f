"""Re-deriving versions from stored raw snapshots after extraction rules change.

When a declaration's selectors or filters change, the newest stored pages of
each source are judged again with the rules as declared now, by the same
guard as a fetch (the too-short check against the current version included).
That is the latest fetch when it was refused for a reason the declaration
decides (`selector_miss`, `invalid_selector`, `empty`: a page refused before
a selector was fixed becomes the version it should have been), else the
latest fetch that became a version. A fetch refused for what the server sent
(a challenge page, an error, a text too short) is never re-judged, and a
fetch whose pages were not all kept is never used. A text that differs from
the current version becomes a new version whose change is `technical`:
recorded and shown, never announced as news, because the vendor did not
change anything. Such a version is dated when it was re-derived; its
snapshots keep the time their pages were fetched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.judge import GuardPolicy, judge
from ingest.record import record_text
from ingest.results import FetchFailure, SourceResult
from ingest.runs import recorded_run
from storage import blobs, texts
from storage.db import transaction
from storage.models import FetchOutcome, Snapshot
from storage.record import RawPage, current_version, latest_record_time, record_source
from storage.times import utc_text
from storage.vocabulary import FailureKind, Outcome, RunKind

# What a source comes to when no stored fetch can be judged again (never fetched, or none usable).
NOTHING_STORED = "nothing stored to judge again"


def _pages(session: Session, outcome: FetchOutcome) -> list[RawPage]:
    return [RawPage(s.url, s.final_url, s.http_status, s.content_type, blobs.read(session, s.blob_sha256),
                    fetched_at=s.fetched_at) for s in outcome.snapshots]


# Refusals that a declaration decides, and that a fixed declaration may therefore undo.
DECLARATION_REFUSALS = (FailureKind.SELECTOR_MISS, FailureKind.INVALID_SELECTOR, FailureKind.EMPTY)


def _candidates(session: Session, source: Source) -> list[FetchOutcome]:
    """The fetches worth judging again, newest first: the latest one when the declaration refused it, then the
    latest that became a version; only fetches that kept a page for every declared URL."""
    with_pages = (select(FetchOutcome).where(FetchOutcome.source_id == source.id)
                  .where(FetchOutcome.id.in_(select(Snapshot.outcome_id).where(Snapshot.source_id == source.id)))
                  .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()))
    latest = session.scalars(with_pages.limit(1)).first()
    if latest is None:
        return []
    found = [latest] if latest.outcome != Outcome.FAILED or latest.failure_kind in DECLARATION_REFUSALS else []
    if latest.outcome == Outcome.FAILED:
        accepted = session.scalars(with_pages.where(FetchOutcome.outcome != Outcome.FAILED).limit(1)).first()
        found += [accepted] if accepted is not None else []
    return [outcome for outcome in found if len(outcome.snapshots) == len(source.urls)]


def _reextract_one(session: Session, source: Source, run_id: int, at: datetime,
                   policy: GuardPolicy) -> SourceResult:
    # The source's row taken, as every recording takes it, before its latest time is read again: a crawl that
    # recorded it since `check_order` would otherwise be followed by a version dated before its own.
    record_source(session, source)
    too_early = _too_early(session, source.id, at)
    if too_early is not None:
        return SourceResult(source.id, Outcome.FAILED,
                            failure=FetchFailure(FailureKind.ERROR, f"not re-derived: {too_early}"))
    candidates = _candidates(session, source)
    if not candidates:
        return SourceResult(source.id, NOTHING_STORED)
    current = current_version(session, source.id)
    current_text = texts.of(session, current) if current is not None else None
    verdict: str | FetchFailure = FetchFailure(FailureKind.EMPTY, "nothing stored")
    for outcome in candidates:
        pages = _pages(session, outcome)
        verdict = judge(source, pages, current_text, policy.min_fraction)
        if not isinstance(verdict, FetchFailure):
            break
    if isinstance(verdict, FetchFailure):
        return SourceResult(source.id, Outcome.FAILED, failure=verdict)
    if current is not None and current_text == verdict:
        return SourceResult(source.id, Outcome.UNCHANGED, current.number)
    recorded = record_text(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict,
                           technical=True)
    return SourceResult(source.id, recorded.outcome, recorded.version.number if recorded.version else None)


class TooEarly(ValueError):
    """A re-derivation dated before what a source already holds: a record only grows forwards."""

    def __init__(self, source_id: str, latest: datetime, at: datetime):
        self.source_id, self.latest, self.at = source_id, latest, at
        super().__init__(f"{source_id} already has a record at {utc_text(latest)}, later than {utc_text(at)}: "
                         f"a re-derived version is dated when it is made, after everything the source holds")


def _too_early(session: Session, source_id: str, at: datetime) -> TooEarly | None:
    """Why a version of this source cannot be dated ``at``: its record reaches to ``at`` or past it."""
    latest = latest_record_time(session, source_id)
    return TooEarly(source_id, latest, at) if latest is not None and at <= latest else None


def check_order(factory: sessionmaker[Session], sources: Sequence[Source], at: datetime) -> None:
    """Raise ``TooEarly`` for the first source whose record reaches to ``at`` or past it."""
    with transaction(factory) as session:
        for source in sources:
            too_early = _too_early(session, source.id, at)
            if too_early is not None:
                raise too_early


def reextract(factory: sessionmaker[Session], sources: Sequence[Source], at: datetime,
              policy: GuardPolicy = GuardPolicy(), claims: ClaimsPlan | None = None) -> list[SourceResult]:
    check_order(factory, sources, at)
    results: list[SourceResult] = []
    with recorded_run(factory, RunKind.REEXTRACT, at, claims=claims) as run_id:
        for source in sources:
            with transaction(factory) as session:
                results.append(_reextract_one(session, source, run_id, at, policy))
    return results
