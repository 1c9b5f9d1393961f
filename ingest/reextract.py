"""Re-deriving versions from stored raw snapshots after extraction rules change.

When a declaration's selectors or filters change, the newest stored pages of
each source are judged again with the rules as declared now. That is the
latest fetch, even a refused one (a page refused as `selector_miss` before a
selector was fixed becomes the version it should have been), or, when the
latest fetch is still refused, the latest fetch that became a version. A text
that differs from the current version becomes a new version whose change is
`technical`: recorded and shown, never announced as news, because the vendor
did not change anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.judge import judge
from ingest.record import record_text
from ingest.results import FetchFailure, SourceResult
from ingest.runs import recorded_run
from storage import blobs
from storage.db import transaction
from storage.models import FetchOutcome, Snapshot
from storage.record import RawPage, current_version
from storage.vocabulary import FailureKind, Outcome, RunKind

NEVER_FETCHED = "never fetched"


def _pages(session: Session, outcome: FetchOutcome) -> list[RawPage]:
    return [RawPage(s.url, s.final_url, s.http_status, s.content_type, blobs.read(session, s.blob_sha256),
                    fetched_at=s.fetched_at) for s in outcome.snapshots]


def _candidates(session: Session, source_id: str) -> list[FetchOutcome]:
    """The latest fetch with stored pages, then (if that one was refused) the latest that became a version."""
    with_pages = (select(FetchOutcome).where(FetchOutcome.source_id == source_id)
                  .where(FetchOutcome.id.in_(select(Snapshot.outcome_id).where(Snapshot.source_id == source_id)))
                  .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(1))
    latest = session.scalars(with_pages).first()
    if latest is None:
        return []
    if latest.outcome != Outcome.FAILED:
        return [latest]
    accepted = session.scalars(with_pages.where(FetchOutcome.outcome != Outcome.FAILED)).first()
    return [latest] + ([accepted] if accepted is not None else [])


def _reextract_one(session: Session, source: Source, run_id: int, at: datetime) -> SourceResult:
    candidates = _candidates(session, source.id)
    if not candidates:
        return SourceResult(source.id, NEVER_FETCHED)
    verdict: str | FetchFailure = FetchFailure(FailureKind.EMPTY, "nothing stored")
    for outcome in candidates:
        pages = _pages(session, outcome)
        verdict = judge(source, pages)
        if not isinstance(verdict, FetchFailure):
            break
    if isinstance(verdict, FetchFailure):
        return SourceResult(source.id, Outcome.FAILED, failure=verdict)
    current = current_version(session, source.id)
    if current is not None and current.text == verdict:
        return SourceResult(source.id, Outcome.UNCHANGED, current.number)
    recorded = record_text(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict,
                           technical=True)
    return SourceResult(source.id, recorded.outcome, recorded.version.number if recorded.version else None)


def reextract(factory: sessionmaker[Session], sources: Sequence[Source], at: datetime,
              claims: ClaimsPlan | None = None) -> list[SourceResult]:
    results: list[SourceResult] = []
    with recorded_run(factory, RunKind.REEXTRACT, at, claims=claims) as run_id:
        for source in sources:
            with transaction(factory) as session:
                results.append(_reextract_one(session, source, run_id, at))
    return results
