"""The record as the claim engine sees it: versions, fetch outcomes and tracking changes as source events.

Events are planned from metadata first (a few bulk queries), put in time
order across sources, and only then given their texts, a batch at a time:
evaluating a whole history never holds more than ``TEXT_BATCH`` version
texts in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.claims import SourceConfirmed, SourceEvent, SourceFailed, SourceInfo, SourceUndeclared, SourceVersion
from analysis.vocabulary import ChangeKind
from storage import texts as version_texts
from storage.claims_models import ClaimSourceRow
from storage.models import Change, FetchOutcome, SourceRow, Version
from storage.claims_queries import tracking_changes
from storage.vocabulary import Outcome, TrackingKind

TEXT_BATCH = 32


def source_info(row: SourceRow) -> SourceInfo:
    return SourceInfo(id=row.id, vendor=row.vendor, language=row.language)


def source_infos(session: Session, source_ids: Iterable[str] | None = None) -> dict[str, SourceInfo]:
    query = select(SourceRow)
    if source_ids is not None:
        query = query.where(SourceRow.id.in_(sorted(set(source_ids))))
    return {row.id: source_info(row) for row in session.scalars(query)}


@dataclass(frozen=True)
class VersionMeta:
    id: int
    source_id: str
    number: int
    first_seen: datetime
    last_confirmed: datetime
    change_kind: ChangeKind | None  # None for a source's first version


@dataclass(frozen=True)
class PlannedVersion:
    """A version to hand to the engine once its text is read."""

    source: SourceInfo
    meta: VersionMeta
    declaration_changed: bool = False

    @property
    def at(self) -> datetime:
        return self.meta.first_seen

    @property
    def source_id(self) -> str:
        return self.source.id


Planned = PlannedVersion | SourceConfirmed | SourceFailed | SourceUndeclared


def _source_id(item: Planned) -> str:
    return item.source_id


def versions(session: Session, source_ids: Iterable[str], *, after_cursor: bool) -> dict[str, list[VersionMeta]]:
    """Version metadata per source in number order: those after the source's evaluation cursor
    (``after_cursor``), or those up to and including it (the history already evaluated)."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    evaluated = func.coalesce(ClaimSourceRow.version, 0)
    query = (select(Version.id, Version.source_id, Version.number, Version.first_seen, Version.last_confirmed,
                    Change.kind)
             .outerjoin(Change, Change.to_version_id == Version.id)
             .outerjoin(ClaimSourceRow, ClaimSourceRow.source_id == Version.source_id)
             .where(Version.source_id.in_(ids), Version.number > evaluated if after_cursor else Version.number <= evaluated)
             .order_by(Version.source_id, Version.number))
    found: dict[str, list[VersionMeta]] = {}
    for vid, sid, number, first, confirmed, kind in session.execute(query):
        found.setdefault(sid, []).append(VersionMeta(vid, sid, number, first, confirmed,
                                                     None if kind is None else ChangeKind(kind)))
    return found


@dataclass(frozen=True)
class PendingOutcome:
    id: int
    source_id: str
    at: datetime
    outcome: str
    version_id: int | None
    run_id: int


def pending_outcomes(session: Session, after: Mapping[str, int],
                     evaluated: Iterable[str]) -> dict[str, list[PendingOutcome]]:
    """Fetch outcomes not yet evaluated, per source in the order recorded: above ``after[sid]`` for a source
    evaluated before, all of them for a source never evaluated (not in ``evaluated``).

    One range scan from the lowest cursor in ``after`` (the caller leaves out sources that are fetched no
    more), and one query for sources never evaluated.
    """
    columns = (FetchOutcome.id, FetchOutcome.source_id, FetchOutcome.at, FetchOutcome.outcome,
               FetchOutcome.version_id, FetchOutcome.run_id)
    order = (FetchOutcome.source_id, FetchOutcome.at, FetchOutcome.id)
    known = set(evaluated)
    rows: list[PendingOutcome] = []
    if after:
        query = select(*columns).where(FetchOutcome.id > min(after.values())).order_by(*order)
        rows += [PendingOutcome(*row) for row in session.execute(query)
                 if row.source_id in after and row.id > after[row.source_id]]
    new = sorted(set(session.scalars(select(SourceRow.id))) - known)
    if new:
        query = select(*columns).where(FetchOutcome.source_id.in_(new)).order_by(*order)
        rows += [PendingOutcome(*row) for row in session.execute(query)]
    found: dict[str, list[PendingOutcome]] = {}
    for outcome in rows:
        found.setdefault(outcome.source_id, []).append(outcome)
    return found


def outcome_event(outcome: PendingOutcome) -> SourceConfirmed | SourceFailed | None:
    """What a fetch that made no new version tells the engine."""
    if outcome.outcome == Outcome.UNCHANGED:
        return SourceConfirmed(outcome.source_id, outcome.at)
    if outcome.outcome == Outcome.FAILED:
        return SourceFailed(outcome.source_id, outcome.at)
    return None


def history_plan(session: Session, infos: Mapping[str, SourceInfo]) -> list[Planned]:
    """Every version of these sources evaluated so far (up to their cursors), with the recorded tracking changes."""
    metas = versions(session, infos, after_cursor=False)
    changed: set[tuple[str, int]] = set()
    planned: list[Planned] = []
    for row in tracking_changes(session, infos):
        if row.kind == TrackingKind.DECLARATION_CHANGED and row.version is not None:
            changed.add((row.source_id, row.version))
        elif row.kind == TrackingKind.UNDECLARED:
            planned.append(SourceUndeclared(row.source_id, row.at))
    for sid, metas_of in metas.items():
        planned.extend(PlannedVersion(infos[sid], meta, (sid, meta.number) in changed) for meta in metas_of)
    return in_time_order(planned)


def in_time_order(planned: Sequence[Planned]) -> list[Planned]:
    """Merged in time order (ties by source id), each source's own order kept, as ``history_events`` does."""
    tagged = [(item.at, _source_id(item), i, item) for i, item in enumerate(planned)]
    tagged.sort(key=lambda t: (t[0], t[1], t[2]))
    return [t[3] for t in tagged]


def materialise(session: Session, planned: Sequence[Planned], batch: int = TEXT_BATCH) -> Iterator[SourceEvent]:
    """The planned events with version texts read ``batch`` at a time, in the planned order."""
    texts: dict[int, str] = {}
    for index, item in enumerate(planned):
        if not isinstance(item, PlannedVersion):
            yield item
            continue
        if item.meta.id not in texts:
            texts.clear()
            wanted = [p.meta.id for p in planned[index:] if isinstance(p, PlannedVersion)][:batch]
            texts.update(version_texts.by_version_id(session, wanted))
        yield SourceVersion(source=item.source, number=item.meta.number, at=item.meta.first_seen,
                            text=texts[item.meta.id], change_kind=item.meta.change_kind,
                            declaration_changed=item.declaration_changed)
