"""From judged pages to the record: one source, one transaction.

`store_outcome` judges the pages against the source's current version and
records either a failure (keeping the refused pages) or the text; `record_text`
works out what a new text's change means and hands it to storage.

Judging and analysing a change read the record but write nothing, so
`store_outcome` does them before the source's write transaction opens: a long
analysis holds no lock. The transaction then checks that the current version
is still the one the pages were judged against (judging again if another
command recorded one meanwhile) and records everything about the fetch at
once, so a crash at any moment leaves all of it or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy.orm import Session, sessionmaker

from ingest.changes import Analysed, analyse_texts, change_facts
from ingest.declarations import Source
from ingest.judge import GuardPolicy, Judgement, PreparedPage, judge_pages
from ingest.results import FetchFailure, SourceResult
from storage.db import make_engine, session_factory, transaction
from storage.models import FetchOutcome, SourceRow
from storage.record import (RawPage, accepted_content_keys, current_version, record_failure, record_success,
                            refused_in_a_row, reverted_version, text_sha256, upsert_source)
from storage.vocabulary import Outcome


def record_text(session: Session, *, run_id: int, source_id: str, at: datetime, pages: Sequence[RawPage],
                text: str, technical: bool = False, analysed: Analysed | None = None) -> FetchOutcome:
    """Record an accepted text: a confirmation of the current version, or a new version with its change.

    `analysed`: the change's analysis, when it was worked out beforehand (it is
    used only if it is that of the current version's text and this one).
    """
    current = current_version(session, source_id)
    facts = None
    sha = text_sha256(text)
    if current is not None and current.sha256 != sha:
        reverted = reverted_version(session, source_id, sha, current)
        facts = change_facts(current.text, text, session.get_one(SourceRow, source_id).language,
                             reverts_to_version_id=reverted.id if reverted is not None else None, technical=technical,
                             analysed=analysed)
    return record_success(session, run_id=run_id, source_id=source_id, at=at, pages=pages, text=text, change=facts,
                          current=current)


@dataclass(frozen=True)
class _Current:
    """The current version as the pages were judged against it."""

    id: int
    sha256: str
    text: str


def _judge(source: Source, pages: Sequence[RawPage], current: _Current | None, policy: GuardPolicy,
           prepared: Sequence[PreparedPage | None], accepted_keys: Sequence[str | None] | None) -> Judgement:
    return judge_pages(source, pages, current.text if current is not None else None, policy.min_fraction, prepared,
                       accepted_keys)


def store_outcome(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None,
                  policy: GuardPolicy = GuardPolicy(), prepared: Sequence[PreparedPage | None] = ()) -> SourceResult:
    """Judge the pages against the current version and record the result, in one transaction.

    `prepared`: what the crawler already extracted of each page.
    """
    judgement: Judgement | None = None
    analysed: Analysed | None = None
    current: _Current | None = None
    if failure is None:
        with transaction(factory) as session:
            row = current_version(session, source.id)
            current = _Current(row.id, row.sha256, row.text) if row is not None else None
            accepted = accepted_content_keys(session, source.id, row)
        judgement = _judge(source, pages, current, policy, prepared, accepted)
        text = judgement.verdict
        if isinstance(text, str) and current is not None and text_sha256(text) != current.sha256:
            analysed = analyse_texts(current.text, text, source.language)
    with transaction(factory) as session:
        upsert_source(session, source)
        row = current_version(session, source.id)
        if failure is None and (row.id if row is not None else None) != (current.id if current is not None else None):
            # Another command recorded a version meanwhile: judge against that one.
            current = _Current(row.id, row.sha256, row.text) if row is not None else None
            judgement = _judge(source, pages, current, policy, prepared, None)
        verdict = failure if failure is not None else judgement.verdict  # type: ignore[union-attr]
        judged_pages = judgement.pages if judgement is not None else tuple(pages)
        refused = text_sha256(verdict.text) if isinstance(verdict, FetchFailure) and verdict.text else None
        if refused is not None and refused_in_a_row(session, source.id, verdict.kind, refused) + 1 >= policy.confirm_after:
            verdict = verdict.text  # type: ignore[union-attr]
        if isinstance(verdict, FetchFailure):
            record_failure(session, run_id=run_id, source_id=source.id, at=at, kind=verdict.kind,
                           detail=verdict.detail, http_status=verdict.http_status, url=verdict.url,
                           text_sha256=refused, pages=judged_pages)
            return SourceResult(source.id, Outcome.FAILED, failure=verdict)
        outcome = record_text(session, run_id=run_id, source_id=source.id, at=at, pages=judged_pages, text=verdict,
                              analysed=analysed)
        number = outcome.version.number if outcome.version is not None else None
        return SourceResult(source.id, outcome.outcome, number)


def accepted_keys_by_source(db_url: str, source_ids: Sequence[str]) -> dict[str, tuple[str | None, ...]]:
    """For each source, the content keys of its latest accepted fetch when its text is the current version
    (what the crawler compares a page with before converting it); sources without any are left out."""
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as session:
            found = {}
            for source_id in source_ids:
                keys = accepted_content_keys(session, source_id, current_version(session, source_id))
                if keys:
                    found[source_id] = keys
            return found
    finally:
        engine.dispose()
