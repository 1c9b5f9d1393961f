"""Reading claim evaluations back, as ``analysis.claims`` values (commands, reports, the next evaluation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from analysis.align import sentence_key
from analysis.claims import (
    Cause,
    Claim,
    ClaimState,
    ClaimStatus,
    EndReason,
    EvidenceInterval,
    IntervalEnd,
    Reading,
    Role,
    StatusEvent,
    VersionRef,
    describe,
)
from analysis.claims.views import ClaimView
from analysis.vocabulary import ChangeKind
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
from storage.health import FAILING_AFTER_RUNS, current_health, outcome_history
from storage.models import Change, SourceRow, Version
from storage.times import utc_text


def claims_digest(session: Session) -> str | None:
    row = session.get(ClaimMetaRow, META_ID)
    return None if row is None else row.claims_digest


def declarations(session: Session, *, current_only: bool = True) -> dict[str, ClaimDeclarationRow]:
    """The latest declaration of each claim (only those still declared unless ``current_only`` is false)."""
    query = select(ClaimDeclarationRow).order_by(ClaimDeclarationRow.claim_id, ClaimDeclarationRow.id)
    if current_only:
        query = query.where(ClaimDeclarationRow.removed_at.is_(None))
    found: dict[str, ClaimDeclarationRow] = {}
    for row in session.scalars(query):
        found[row.claim_id] = row
    return found


def interval_from_row(row: ClaimEvidenceRow) -> EvidenceInterval:
    end = None
    if row.end_reason is not None:
        assert row.end_at is not None
        end = IntervalEnd(EndReason(row.end_reason), row.end_at, row.end_version, row.successor)
    return EvidenceInterval(
        claim_id=row.claim_id, matcher_id=row.matcher_id, role=Role(row.role), source_id=row.source_id,
        language=row.language, key=sentence_key(row.sentence), sentence=row.sentence,
        span=(row.span_start, row.span_end), reading=Reading.from_json(row.reading),
        failures=tuple(row.expect_failures or ()), first=VersionRef(row.first_version, row.first_at),
        last=VersionRef(row.last_version, row.last_at), last_confirmed=row.last_confirmed, end=end)


def open_intervals(session: Session, claim_ids: Iterable[str] | None = None) -> list[EvidenceInterval]:
    query = select(ClaimEvidenceRow).where(ClaimEvidenceRow.end_reason.is_(None))
    if claim_ids is not None:
        query = query.where(ClaimEvidenceRow.claim_id.in_(sorted(set(claim_ids))))
    return [interval_from_row(r) for r in session.scalars(query.order_by(ClaimEvidenceRow.id))]


def intervals(session: Session, claim_id: str | None = None) -> list[EvidenceInterval]:
    # Ties in time by what the evidence is, not by when it was recorded: the same record lists it the same,
    # whatever order its histories were imported in.
    query = select(ClaimEvidenceRow).order_by(ClaimEvidenceRow.first_at, ClaimEvidenceRow.source_id,
                                              ClaimEvidenceRow.matcher_id, ClaimEvidenceRow.key_sha256,
                                              ClaimEvidenceRow.id)
    if claim_id is not None:
        query = query.where(ClaimEvidenceRow.claim_id == claim_id)
    return [interval_from_row(r) for r in session.scalars(query)]


def states(session: Session) -> dict[str, ClaimState]:
    return {r.claim_id: ClaimState(r.claim_id, ClaimStatus(r.status), r.since, Cause(r.cause))
            for r in session.scalars(select(ClaimStateRow))}


@dataclass(frozen=True)
class RecordedEvent:
    """A status event as recorded: the engine's value and what the record adds to it."""

    id: int
    event: StatusEvent
    change_id: int | None
    run_id: int | None
    revision_id: int | None
    recorded_at: datetime
    withdrawn_at: datetime | None


def _event(row: ClaimEventRow) -> StatusEvent:
    return StatusEvent(
        claim_id=row.claim_id, status=ClaimStatus(row.status),
        previous=None if row.previous is None else ClaimStatus(row.previous), since=row.since,
        cause=Cause(row.cause), source_id=row.source_id, version=row.version,
        change_kind=None if row.change_kind is None else ChangeKind(row.change_kind), announce=row.announce,
        removed=tuple(row.removed or ()), added=tuple(row.added or ()), reevaluated_at=row.reevaluated_at)


def events(session: Session, claim_id: str | None = None, *, withdrawn: bool = False) -> list[RecordedEvent]:
    """Status events in time order; withdrawn ones only when asked for."""
    query = select(ClaimEventRow).order_by(ClaimEventRow.since, ClaimEventRow.id)
    if claim_id is not None:
        query = query.where(ClaimEventRow.claim_id == claim_id)
    if not withdrawn:
        query = query.where(ClaimEventRow.withdrawn_at.is_(None))
    return [RecordedEvent(r.id, _event(r), r.change_id, r.run_id, r.revision_id, r.recorded_at, r.withdrawn_at)
            for r in session.scalars(query)]


def revisions(session: Session, claim_id: str | None = None) -> list[ClaimRevisionRow]:
    query = select(ClaimRevisionRow).order_by(ClaimRevisionRow.at, ClaimRevisionRow.id)
    if claim_id is not None:
        query = query.where(ClaimRevisionRow.claim_id == claim_id)
    return list(session.scalars(query))


def errors(session: Session, claim_id: str | None = None) -> list[ClaimErrorRow]:
    query = select(ClaimErrorRow).order_by(ClaimErrorRow.at, ClaimErrorRow.id)
    if claim_id is not None:
        query = query.where(ClaimErrorRow.claim_id == claim_id)
    return list(session.scalars(query))


def cursors(session: Session) -> dict[str, ClaimSourceRow]:
    return {r.source_id: r for r in session.scalars(select(ClaimSourceRow))}


@dataclass(frozen=True)
class EvaluatedVersion:
    id: int
    number: int
    first_seen: datetime


def recorded_source_ids(session: Session) -> list[str]:
    """Every source the record holds, declared now or not."""
    return list(session.scalars(select(SourceRow.id)))


def record_reaches(session: Session, source_ids: Iterable[str] | None = None) -> datetime | None:
    """The latest time a document's text was confirmed (of these sources, or any), by a fetch or an imported file:
    past it the record knows no text, so no status either (None: nothing recorded)."""
    query = select(func.max(Version.last_confirmed))
    if source_ids is not None:
        query = query.where(Version.source_id.in_(sorted(set(source_ids))))
    return session.scalar(query)


def evaluated_versions(session: Session, source_ids: Iterable[str]) -> dict[str, EvaluatedVersion]:
    """The version each source was last evaluated at (its cursor's), for sources evaluated at all: one look-up by
    the versions' (source, number) key per cursor, however many versions the sources have."""
    query = (select(ClaimSourceRow.source_id, Version.id, Version.number, Version.first_seen)
             .select_from(ClaimSourceRow)
             .join(Version, and_(Version.source_id == ClaimSourceRow.source_id,
                                 Version.number == ClaimSourceRow.version))
             .where(ClaimSourceRow.source_id.in_(sorted(set(source_ids)))))
    return {sid: EvaluatedVersion(vid, number, first) for sid, vid, number, first in session.execute(query)}


def latest_events(session: Session) -> dict[str, datetime]:
    """Each claim's latest status event still in its timeline (not withdrawn): when it happened."""
    query = (select(ClaimEventRow.claim_id, func.max(ClaimEventRow.since))
             .where(ClaimEventRow.withdrawn_at.is_(None)).group_by(ClaimEventRow.claim_id))
    return {cid: since for cid, since in session.execute(query) if since is not None}


def tracking_changes(session: Session, source_ids: Iterable[str] | None = None) -> list[TrackingChangeRow]:
    query = select(TrackingChangeRow).order_by(TrackingChangeRow.source_id, TrackingChangeRow.at, TrackingChangeRow.id)
    if source_ids is not None:
        query = query.where(TrackingChangeRow.source_id.in_(sorted(set(source_ids))))
    return list(session.scalars(query))


def evaluations(session: Session, run_id: int | None = None) -> list[ClaimEvaluationRow]:
    query = select(ClaimEvaluationRow).order_by(ClaimEvaluationRow.id)
    if run_id is not None:
        query = query.where(ClaimEvaluationRow.run_id == run_id)
    return list(session.scalars(query))


def change_ids(session: Session, source_ids: Iterable[str]) -> dict[tuple[str, int], int]:
    """(source, version number) → the change that introduced that version."""
    query = (select(Version.source_id, Version.number, Change.id).join(Change, Change.to_version_id == Version.id)
             .where(Version.source_id.in_(sorted(set(source_ids)))))
    return {(sid, number): cid for sid, number, cid in session.execute(query)}


@dataclass(frozen=True)
class RecordedClaim:
    """Everything recorded about one claim, and how it reads now or at a past time (``view``)."""

    claim: Claim
    declared: bool  # still in the claims files when last evaluated
    removed_at: datetime | None
    declared_in: str
    view: ClaimView
    intervals: tuple[EvidenceInterval, ...]
    events: tuple[RecordedEvent, ...]  # live ones, oldest first
    withdrawn: tuple[RecordedEvent, ...]
    revisions: tuple[ClaimRevisionRow, ...]
    errors: tuple[ClaimErrorRow, ...]
    state: ClaimState | None

    @property
    def tracked(self) -> bool:
        """Whether the claim was tracked at the view's time: now, once it has a state; at a past time, once its
        first status (or its state's) dates from then or before."""
        return self.state is not None if self.view.at is None else self.view.since is not None

    def to_json(self, titles: Mapping[str, str]) -> dict[str, Any]:
        """``claims show --json`` and the report's ``claims/<id>.json``: the view, plus what the record adds.

        ``titles`` maps source ids to what they are called ("OpenAI — Privacy Policy (EU)").
        """
        data = self.view.to_json()
        data["declared"] = self.declared
        data["removed_at"] = _when(self.removed_at)
        data["declared_in"] = self.declared_in
        data["tracked"] = self.tracked
        data["sources"] = {sid: titles.get(sid, sid) for sid in sorted({iv.source_id for iv in self.intervals})}
        data["revisions"] = [{"at": _when(r.at), "reason": r.reason, "status_before": r.status_before,
                              "status_after": r.status_after, "events_added": r.events_added,
                              "events_withdrawn": r.events_withdrawn} for r in self.revisions]
        data["withdrawn_events"] = [r.event.to_json() | {"withdrawn_at": _when(r.withdrawn_at)}
                                    for r in self.withdrawn]
        data["errors"] = [{"at": _when(e.at), "source": e.source_id, "version": e.version, "matcher": e.matcher_id,
                           "message": e.message} for e in self.errors]
        return data


def _when(at: datetime | None) -> str | None:
    return None if at is None else utc_text(at)


def failing_sources(session: Session, failing_after: int = FAILING_AFTER_RUNS) -> dict[str, datetime]:
    """Sources failing now (as the health feed says it), with the time they started failing."""
    found = {}
    for sid, rows in outcome_history(session).items():
        health = current_health(rows, failing_after)
        if health.state == "failing" and health.since is not None:
            found[sid] = health.since
    return found


def recorded_claims(session: Session, claim_id: str | None = None, at: datetime | None = None,
                    failing_after: int = FAILING_AFTER_RUNS) -> list[RecordedClaim]:
    """Every claim ever declared (or only ``claim_id``), as recorded, read now or as of ``at``."""
    rows = declarations(session, current_only=False)
    if claim_id is not None:
        rows = {claim_id: rows[claim_id]} if claim_id in rows else {}
    if not rows:
        return []
    every_interval: dict[str, list[EvidenceInterval]] = {}
    for iv in intervals(session, claim_id):
        every_interval.setdefault(iv.claim_id, []).append(iv)
    live: dict[str, list[RecordedEvent]] = {}
    gone: dict[str, list[RecordedEvent]] = {}
    for event in events(session, claim_id, withdrawn=True):
        (gone if event.withdrawn_at is not None else live).setdefault(event.event.claim_id, []).append(event)
    all_revisions: dict[str, list[ClaimRevisionRow]] = {}
    for revision in revisions(session, claim_id):
        all_revisions.setdefault(revision.claim_id, []).append(revision)
    all_errors: dict[str, list[ClaimErrorRow]] = {}
    for error in errors(session, claim_id):
        all_errors.setdefault(error.claim_id, []).append(error)
    current = states(session)
    failing = failing_sources(session, failing_after) if at is None else {}
    out = []
    for cid in sorted(rows):
        row = rows[cid]
        claim = Claim.from_json(row.spec, declared_in=row.declared_in)
        timeline = [e.event for e in live.get(cid, ())]
        view = describe(claim, timeline, every_interval.get(cid, ()), at=at, failing=failing, state=current.get(cid))
        out.append(RecordedClaim(claim, row.removed_at is None, row.removed_at, row.declared_in, view,
                                 tuple(every_interval.get(cid, ())), tuple(live.get(cid, ())),
                                 tuple(gone.get(cid, ())), tuple(all_revisions.get(cid, ())),
                                 tuple(all_errors.get(cid, ())), current.get(cid)))
    return out
