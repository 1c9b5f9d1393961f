"""Re-deriving versions from stored raw snapshots after extraction rules change.

When a declaration's selectors or filters change, the latest raw snapshot of
each source is extracted again with the rules as declared now. A text that
differs from the current version becomes a new version whose change is
`technical`: recorded and shown, never announced as news, because the vendor
did not change anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.declarations import Source
from crawler.items import FetchFailure
from crawler.processing import judge
from storage import blobs
from storage.db import transaction
from storage.models import FetchOutcome
from storage.record import RawPage, current_version, finish_run, record_success, start_run


@dataclass(frozen=True)
class Reextracted:
    source_id: str
    outcome: str  # unchanged | changed | failed | never fetched
    version_number: int | None = None
    failure: FetchFailure | None = None


def _latest_pages(session: Session, source_id: str) -> list[RawPage]:
    outcome = session.scalars(select(FetchOutcome).where(
        FetchOutcome.source_id == source_id, FetchOutcome.outcome != "failed")
        .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(1)).first()
    if outcome is None:
        return []
    return [RawPage(s.url, s.final_url, s.http_status, s.content_type, blobs.read(session, s.blob_sha256),
                    fetched_at=s.fetched_at) for s in outcome.snapshots]


def reextract(factory: sessionmaker[Session], sources: Sequence[Source], at: datetime) -> list[Reextracted]:
    results: list[Reextracted] = []
    with transaction(factory) as session:
        run_id = start_run(session, "reextract", at).id
    for source in sources:
        with transaction(factory) as session:
            pages = _latest_pages(session, source.id)
            if not pages:
                results.append(Reextracted(source.id, "never fetched"))
                continue
            verdict = judge(source, pages)
            if isinstance(verdict, FetchFailure):
                results.append(Reextracted(source.id, "failed", failure=verdict))
                continue
            current = current_version(session, source.id)
            if current is not None and current.text == verdict:
                results.append(Reextracted(source.id, "unchanged", current.number))
                continue
            outcome = record_success(session, run_id=run_id, source_id=source.id, at=at, pages=pages,
                                     text=verdict, technical=True)
            results.append(Reextracted(source.id, "changed", outcome.version.number if outcome.version else None))
    with transaction(factory) as session:
        finish_run(session, run_id, at)
    return results
