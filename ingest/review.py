"""`policywatch review`: the texts a source's fetches yielded that did not become versions, and accepting one.

The guard refuses a text that shrank too far, and holds one that replaces
almost everything; both are kept with their pages (`held_texts`). A person
who has looked at one may accept it as the source's next version, with a
note saying why; the change is recorded at the time of the review, the
version as first seen when the text was fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.changes import change_facts
from ingest.declarations import Source
from ingest.judge import judge
from ingest.results import FetchFailure, SourceResult
from storage import blobs, claims_record, texts
from storage.db import reading, transaction
from storage.models import FetchOutcome
from storage.queries import get_source
from storage.record import RawPage, current_version, held_text, reverted_version, text_sha256, version_from_outcome
from storage.vocabulary import Outcome

# Outcomes whose text a reviewer may accept.
REVIEWABLE = (Outcome.FAILED, Outcome.PENDING, Outcome.DROPPED)


class ReviewError(ValueError):
    pass


@dataclass(frozen=True)
class Candidate:
    outcome_id: int
    at: datetime
    outcome: str
    failure_kind: str | None
    detail: str | None
    text: str | None  # None when neither kept nor extractable from the kept pages
    acceptable: bool  # newer than the current version's last confirmation


def _pages(session: Session, outcome: FetchOutcome) -> list[RawPage]:
    return [RawPage(s.url, s.final_url, s.http_status, s.content_type, blobs.read(session, s.blob_sha256),
                    fetched_at=s.fetched_at) for s in outcome.snapshots]


def _text(session: Session, outcome: FetchOutcome, source: Source | None) -> str | None:
    """The text the fetch yielded: as kept, or extracted again from its kept pages."""
    kept = held_text(session, outcome.text_sha256)
    if kept is not None or source is None or not outcome.snapshots:
        return kept
    try:
        verdict = judge(source, _pages(session, outcome))
    except blobs.BlobIntegrityError:
        return None
    return None if isinstance(verdict, FetchFailure) else verdict


def candidates(factory: sessionmaker[Session], source_id: str, source: Source | None) -> list[Candidate]:
    """Every fetch of the source with a text that did not become a version, oldest first."""
    with reading(factory) as session:
        get_source(session, source_id)
        current = current_version(session, source_id)
        found = []
        for outcome in session.scalars(select(FetchOutcome).where(
                FetchOutcome.source_id == source_id, FetchOutcome.outcome.in_(REVIEWABLE),
                FetchOutcome.version_id.is_(None)).order_by(FetchOutcome.at, FetchOutcome.id)):
            if outcome.text_sha256 is None and not outcome.snapshots:
                continue
            text = _text(session, outcome, source)
            if text is None:
                continue
            acceptable = current is None or outcome.at >= current.last_confirmed
            found.append(Candidate(outcome.id, outcome.at, outcome.outcome, outcome.failure_kind, outcome.detail,
                                   text, acceptable and (current is None or text_sha256(text) != current.sha256)))
        return found


def accept(factory: sessionmaker[Session], source_id: str, outcome_id: int, note: str, at: datetime,
           source: Source | None) -> SourceResult:
    """Make the text of fetch `outcome_id` the source's next version, with the reviewer's note."""
    if not note.strip():
        raise ReviewError("say why the text is accepted: --note is required")
    with transaction(factory) as session:
        row = get_source(session, source_id)
        outcome = session.get(FetchOutcome, outcome_id)
        if outcome is None or outcome.source_id != source_id:
            raise ReviewError(f"{source_id} has no fetch {outcome_id}; `policywatch review {source_id}` lists them")
        if outcome.outcome not in REVIEWABLE or outcome.version_id is not None:
            raise ReviewError(f"fetch {outcome_id} of {source_id} is {outcome.outcome}: only a refused or held text "
                              "can be accepted")
        text = _text(session, outcome, source)
        if text is None:
            raise ReviewError(f"fetch {outcome_id} of {source_id} kept no text and none can be extracted from its "
                              "pages with the current declaration")
        current = current_version(session, source_id)
        if current is None:
            raise ReviewError(f"{source_id} has no version yet: its next successful fetch becomes the first")
        if text_sha256(text) == current.sha256:
            raise ReviewError(f"fetch {outcome_id} of {source_id} has the text of the current version "
                              f"v{current.number}")
        reverted = reverted_version(session, source_id, text_sha256(text), current)
        facts = change_facts(texts.of(session, current), text, row.language,
                             reverts_to_version_id=reverted.id if reverted is not None else None)
        try:
            version = version_from_outcome(session, outcome, text, facts, at=at,
                                           note=f"accepted on review: {note.strip()}", confirmed=False)
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        claims_record.rewind_cursor(session, source_id, outcome.id)
        return SourceResult(source_id, Outcome.CHANGED, version.number)


def excerpt(text: str, words: int = 30) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def describe(candidate: Candidate) -> Sequence[str]:
    kind = f"{candidate.outcome} ({candidate.failure_kind})" if candidate.failure_kind else candidate.outcome
    text = candidate.text or ""
    state = "can be accepted" if candidate.acceptable else "older than the current version: cannot be accepted"
    return [f"fetch {candidate.outcome_id}  {candidate.at.isoformat().replace('+00:00', 'Z')}  {kind}  "
            f"{len(text.split())} words  sha256 {text_sha256(text)[:12]}…  {state}",
            f"    {candidate.detail or ''}", f"    “{excerpt(text)}”"]
