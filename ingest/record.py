"""From judged pages to the record: one source, one transaction.

`store_outcome` judges the pages against the source's current version and
records either a failure (keeping the refused pages) or the text; `record_text`
works out what a new text's change means and hands it to storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy.orm import Session, sessionmaker

from ingest.changes import change_facts
from ingest.declarations import Source
from ingest.judge import GuardPolicy, judge
from ingest.results import FetchFailure, SourceResult
from storage.db import transaction
from storage.models import FetchOutcome, SourceRow
from storage.record import (RawPage, current_version, record_failure, record_success, refused_in_a_row,
                            reverted_version, text_sha256, upsert_source)
from storage.vocabulary import Outcome


def record_text(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                text: str, technical: bool = False) -> FetchOutcome:
    """Record an accepted text: a confirmation of the current version, or a new version with its change."""
    current = current_version(session, source_id)
    facts = None
    sha = text_sha256(text)
    if current is not None and current.sha256 != sha:
        reverted = reverted_version(session, source_id, sha, current)
        facts = change_facts(current.text, text, session.get_one(SourceRow, source_id).language,
                             reverts_to_version_id=reverted.id if reverted is not None else None, technical=technical)
    return record_success(session, run_id=run_id, source_id=source_id, at=at, pages=pages, text=text, change=facts)


def store_outcome(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None,
                  policy: GuardPolicy = GuardPolicy()) -> SourceResult:
    """Judge the pages against the current version and record the result, in one transaction."""
    with transaction(factory) as session:
        upsert_source(session, source)
        current = current_version(session, source.id)
        verdict = failure if failure is not None else judge(
            source, pages, current.text if current is not None else None, policy.min_fraction)
        refused = text_sha256(verdict.text) if isinstance(verdict, FetchFailure) and verdict.text else None
        if refused is not None and refused_in_a_row(session, source.id, verdict.kind, refused) + 1 >= policy.confirm_after:
            verdict = verdict.text  # type: ignore[union-attr]
        if isinstance(verdict, FetchFailure):
            record_failure(session, run_id=run_id, source_id=source.id, at=at, kind=verdict.kind,
                           detail=verdict.detail, http_status=verdict.http_status, url=verdict.url,
                           text_sha256=refused, pages=pages)
            return SourceResult(source.id, Outcome.FAILED, failure=verdict)
        outcome = record_text(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict)
        number = outcome.version.number if outcome.version is not None else None
        return SourceResult(source.id, outcome.outcome, number)
