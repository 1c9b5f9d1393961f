"""Recording claim evaluations: it only stores what ``ingest.claims`` hands over.

Evidence intervals are upserted by their identity; status events are only
appended (withdrawn, never deleted); a claim's declaration history is kept.
Rows and ``analysis.claims`` values convert both ways here and in
``storage.claims_queries``, so nothing above storage sees a claim row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from analysis.claims import Claim, ClaimState, EvaluationError, EvidenceInterval, StatusEvent
from storage.claims_models import (
    META_ID,
    ClaimDeclarationRow,
    ClaimErrorRow,
    ClaimEvaluationRow,
    ClaimEventRow,
    ClaimEvidenceRow,
    ClaimMetaRow,
    ClaimRevisionRow,
    ClaimSourceRow,
    ClaimStateRow,
    TrackingChangeRow,
)
from storage.db import core
from storage.vocabulary import TrackingKind



def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def lock_evaluation(session: Session, at: datetime) -> ClaimMetaRow:
    """Take the evaluation lock (the first write of the transaction) and return the bookkeeping row."""
    result = session.execute(update(ClaimMetaRow).where(ClaimMetaRow.id == META_ID).values(evaluated_at=at))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(ClaimMetaRow(id=META_ID, evaluated_at=at))
        session.flush()
    return session.get_one(ClaimMetaRow, META_ID)


def set_claims_digest(session: Session, digest: str | None) -> None:
    session.get_one(ClaimMetaRow, META_ID).claims_digest = digest


# --- declarations


def declare_claim(session: Session, claim: Claim, engine: str, at: datetime) -> ClaimDeclarationRow:
    """Record ``claim`` as its current declaration, superseding any earlier one."""
    current = session.scalars(select(ClaimDeclarationRow).where(
        ClaimDeclarationRow.claim_id == claim.id, ClaimDeclarationRow.removed_at.is_(None))).all()
    for row in current:
        row.removed_at = at
    row = ClaimDeclarationRow(claim_id=claim.id, fingerprint=claim.fingerprint, engine=engine,
                              declared_in=claim.declared_in, spec=claim.to_json(), loaded_at=at)
    session.add(row)
    session.flush()
    return row


def refresh_declaration(row: ClaimDeclarationRow, claim: Claim) -> None:
    """Wording that evaluation does not depend on (statement, note, topics) moved on: show the new one."""
    spec = claim.to_json()
    if row.spec != spec:
        row.spec = spec
    row.declared_in = claim.declared_in


def remove_claim(session: Session, claim_id: str, at: datetime) -> None:
    """The claim left the claims files: its record stays, marked as no longer declared."""
    session.execute(update(ClaimDeclarationRow).where(
        ClaimDeclarationRow.claim_id == claim_id, ClaimDeclarationRow.removed_at.is_(None)).values(removed_at=at))


# --- evidence


def _interval_values(iv: EvidenceInterval) -> dict[str, Any]:
    end = iv.end
    return {
        "claim_id": iv.claim_id, "matcher_id": iv.matcher_id, "role": str(iv.role), "source_id": iv.source_id,
        "language": iv.language, "key_sha256": key_sha256(iv.key), "sentence": iv.sentence,
        "span_start": iv.span[0], "span_end": iv.span[1], "reading": iv.reading.to_json(),
        "expect_failures": list(iv.failures), "first_version": iv.first.number, "first_at": iv.first.at,
        "last_version": iv.last.number, "last_at": iv.last.at, "last_confirmed": iv.last_confirmed,
        "end_reason": None if end is None else str(end.reason), "end_at": None if end is None else end.at,
        "end_version": None if end is None else end.version, "successor": None if end is None else end.successor,
    }


def upsert_intervals(session: Session, intervals: Iterable[EvidenceInterval]) -> int:
    """Insert new intervals and bring known ones (same identity) up to date, in two bulk statements;
    the number written."""
    values: dict[tuple[Any, ...], dict[str, Any]] = {}
    for iv in intervals:
        value = _interval_values(iv)
        values[(value["claim_id"], value["matcher_id"], value["source_id"], value["key_sha256"],
                value["first_version"])] = value
    if not values:
        return 0
    session.flush()
    known = {tuple(row[1:]): row[0] for row in session.execute(
        select(ClaimEvidenceRow.id, ClaimEvidenceRow.claim_id, ClaimEvidenceRow.matcher_id, ClaimEvidenceRow.source_id,
               ClaimEvidenceRow.key_sha256, ClaimEvidenceRow.first_version)
        .where(ClaimEvidenceRow.claim_id.in_(sorted({k[0] for k in values})),
               ClaimEvidenceRow.source_id.in_(sorted({k[2] for k in values}))))}
    new = [value for identity, value in values.items() if identity not in known]
    changed = [{"id": known[identity], **value} for identity, value in values.items() if identity in known]
    if new:
        # Through the connection: the session keeps nothing of these rows, and its bulk insert costs a tenth more.
        core(session).execute(insert(ClaimEvidenceRow.__table__), new)
    if changed:
        session.execute(update(ClaimEvidenceRow), changed)
    return len(values)


def replace_intervals(session: Session, claim_id: str, intervals: Sequence[EvidenceInterval]) -> None:
    """The claim's evidence after its history was evaluated again: what the old matchers found is gone."""
    session.execute(delete(ClaimEvidenceRow).where(ClaimEvidenceRow.claim_id == claim_id))
    if intervals:
        core(session).execute(insert(ClaimEvidenceRow.__table__), [_interval_values(iv) for iv in intervals])


def confirm_open_intervals(session: Session, source_ids: Sequence[str], at: datetime, claim_ids: Sequence[str]) -> None:
    """Fetches found these sources' current versions unchanged: the claims' open evidence there is confirmed
    at ``at``."""
    session.execute(update(ClaimEvidenceRow).where(
        ClaimEvidenceRow.source_id.in_(list(source_ids)), ClaimEvidenceRow.end_reason.is_(None),
        ClaimEvidenceRow.claim_id.in_(list(claim_ids)), ClaimEvidenceRow.last_confirmed < at)
        .values(last_confirmed=at))


# --- states and events


def set_states(session: Session, states: Iterable[ClaimState], at: datetime) -> None:
    wanted = {state.claim_id: state for state in states}
    if not wanted:
        return
    rows = {r.claim_id: r for r in session.scalars(select(ClaimStateRow)
                                                    .where(ClaimStateRow.claim_id.in_(sorted(wanted))))}
    for claim_id, state in wanted.items():
        row = rows.get(claim_id)
        if row is None:
            row = ClaimStateRow(claim_id=claim_id)
            session.add(row)
        row.status, row.since, row.cause, row.updated_at = str(state.status), state.since, str(state.cause), at
    session.flush()


def clear_state(session: Session, claim_id: str) -> None:
    session.execute(delete(ClaimStateRow).where(ClaimStateRow.claim_id == claim_id))


def add_events(session: Session, events: Iterable[StatusEvent], *, change_ids: Mapping[tuple[str, int], int],
               recorded_at: datetime, run_id: int | None, revision_id: int | None = None) -> list[ClaimEventRow]:
    """Append status events; ``change_ids`` maps (source, version) to the change that introduced the version."""
    rows = []
    for event in events:
        change_id = (change_ids.get((event.source_id, event.version))
                     if event.source_id is not None and event.version is not None else None)
        row = ClaimEventRow(
            claim_id=event.claim_id, status=str(event.status),
            previous=None if event.previous is None else str(event.previous), since=event.since,
            cause=str(event.cause), source_id=event.source_id, version=event.version, change_id=change_id,
            change_kind=None if event.change_kind is None else str(event.change_kind), announce=event.announce,
            removed=list(event.removed), added=list(event.added), reevaluated_at=event.reevaluated_at,
            recorded_at=recorded_at, run_id=run_id, revision_id=revision_id)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def withdraw_events(session: Session, event_ids: Sequence[int], at: datetime, revision_id: int) -> None:
    if event_ids:
        session.execute(update(ClaimEventRow).where(ClaimEventRow.id.in_(list(event_ids)))
                        .values(withdrawn_at=at, withdrawn_by=revision_id))


def add_revision(session: Session, *, claim_id: str, at: datetime, reason: str, run_id: int | None,
                 fingerprint_before: str | None, fingerprint_after: str, status_before: str | None,
                 status_after: str | None) -> ClaimRevisionRow:
    row = ClaimRevisionRow(claim_id=claim_id, at=at, reason=reason, run_id=run_id,
                           fingerprint_before=fingerprint_before, fingerprint_after=fingerprint_after,
                           status_before=status_before, status_after=status_after, events_added=0,
                           events_withdrawn=0)
    session.add(row)
    session.flush()
    return row


def add_errors(session: Session, errors: Iterable[EvaluationError], at: datetime, run_id: int | None) -> int:
    count = 0
    for error in errors:
        session.add(ClaimErrorRow(claim_id=error.claim_id, source_id=error.source_id, version=error.version,
                                  matcher_id=error.matcher_id, message=error.message, at=at, run_id=run_id))
        count += 1
    session.flush()
    return count


# --- evaluation progress


def set_cursor(session: Session, source_id: str, row: ClaimSourceRow | None, *, version: int, outcome_id: int,
               tracking_fingerprint: str | None, declared: bool, at: datetime) -> None:
    """How far ``source_id`` is evaluated; ``row`` is its current cursor (None for a source never evaluated)."""
    if row is None:
        row = ClaimSourceRow(source_id=source_id)
        session.add(row)
    row.version, row.outcome_id = version, outcome_id
    row.tracking_fingerprint, row.declared, row.updated_at = tracking_fingerprint, declared, at


def rewind_cursor(session: Session, source_id: str, outcome_id: int) -> None:
    """A fetch the claims have been evaluated past became a version after the fact (`review --accept`): the next
    evaluation hands it, and what the source recorded after it, to the engine."""
    session.execute(update(ClaimSourceRow).where(ClaimSourceRow.source_id == source_id,
                                                 ClaimSourceRow.outcome_id >= outcome_id)
                    .values(outcome_id=outcome_id - 1))


def add_tracking_change(session: Session, *, source_id: str, at: datetime, kind: TrackingKind, version: int | None,
                        before: str | None, after: str | None, detail: Mapping[str, Any]) -> None:
    session.add(TrackingChangeRow(source_id=source_id, at=at, kind=str(kind), version=version,
                                  fingerprint_before=before, fingerprint_after=after, detail=dict(detail)))


def log_evaluation(session: Session, *, run_id: int | None, at: datetime, kind: str, sources: int, versions: int,
                   claims_read: Iterable[str], events: int, errors: int, seconds: float) -> None:
    session.add(ClaimEvaluationRow(run_id=run_id, at=at, kind=kind, sources=sources, versions=versions,
                                   claims_read=sorted(set(claims_read)), events=events, errors=errors,
                                   seconds=seconds))
