"""Failure episodes: a source starts failing after K consecutive failed runs, and recovers once.

Health feeds and the report's health column announce each episode once, not
once per failed run. SQLAlchemy and the models are imported by the functions
that query: the settings read `FAILING_AFTER_RUNS` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

from analysis.vocabulary import ChangeKind
from storage.vocabulary import CHECKING_RUN_KINDS, HealthEventKind, HealthState, Outcome, RunKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# A source is announced as failing after this many failed fetches in a row.
FAILING_AFTER_RUNS = 2


@dataclass(frozen=True)
class HealthEvent:
    source_id: str
    kind: HealthEventKind
    at: datetime
    failure_kind: str | None  # the latest failure's kind when failing, the episode's last kind when recovered
    detail: str | None
    failed_runs: int  # consecutive failed fetches when announced / in the whole episode
    since: datetime  # first failure of the episode


def episodes(source_id: str, outcomes: Sequence[OutcomeRow],
             failing_after: int = FAILING_AFTER_RUNS) -> list[HealthEvent]:
    """Events from (time, failed, failure_kind, detail) in time order: one `failing` when the
    `failing_after`-th consecutive failure happens, one `recovered` at the next success."""
    events: list[HealthEvent] = []
    streak: list[OutcomeRow] = []
    announced = False
    for outcome in outcomes:
        at, failed, kind, detail, _ = outcome
        if failed:
            streak.append(outcome)
            if not announced and len(streak) >= failing_after:
                events.append(HealthEvent(source_id, HealthEventKind.FAILING, at, kind, detail, len(streak), streak[0][0]))
                announced = True
            continue
        if announced:
            last = streak[-1]
            events.append(HealthEvent(source_id, HealthEventKind.RECOVERED, at, last[2], last[3], len(streak), streak[0][0]))
        streak, announced = [], False
    return events


class OutcomeRow(NamedTuple):
    at: datetime
    failed: bool
    kind: str | None  # the failure kind
    detail: str | None
    imported: bool = False  # an imported file's outcome, no fetch of the vendor's site


def outcome_history(session: Session, source_ids: Iterable[str] | None = None) -> dict[str, list[OutcomeRow]]:
    """Every fetch outcome per source, in time order; re-extractions and re-analyses looked at no page and
    are left out."""
    from sqlalchemy import select

    from storage.models import FetchOutcome, Run

    query = (select(FetchOutcome.source_id, FetchOutcome.at, FetchOutcome.outcome, FetchOutcome.failure_kind,
                    FetchOutcome.detail, Run.kind).join(Run, Run.id == FetchOutcome.run_id)
             .where(Run.kind.in_(CHECKING_RUN_KINDS))
             .order_by(FetchOutcome.source_id, FetchOutcome.at, FetchOutcome.id))
    if source_ids is not None:
        query = query.where(FetchOutcome.source_id.in_(list(source_ids)))
    per_source: dict[str, list[OutcomeRow]] = {}
    for sid, at, outcome, kind, detail, run_kind in session.execute(query):
        per_source.setdefault(sid, []).append(
            OutcomeRow(at, outcome == Outcome.FAILED, kind, detail, run_kind == RunKind.IMPORT))
    return per_source


def last_failed_by_import(history: dict[str, list[OutcomeRow]]) -> set[str]:
    """The sources of `outcome_history` whose latest outcome is a failed imported file: no fetch of the vendor's
    site, which a message must not call one."""
    return {sid for sid, rows in history.items() if rows and rows[-1].failed and rows[-1].imported}


@dataclass(frozen=True)
class CurrentHealth:
    state: HealthState
    since: datetime | None = None  # first failure of the current streak
    failure_kind: str | None = None  # the latest failure's
    detail: str | None = None


def current_health(outcomes: Sequence[OutcomeRow], failing_after: int = FAILING_AFTER_RUNS) -> CurrentHealth:
    """The state a source is in after these outcomes: the same rule `episodes` announces."""
    streak: list[OutcomeRow] = []
    for outcome in outcomes:
        if outcome[1]:
            streak.append(outcome)
        else:
            streak.clear()
    if not streak:
        return CurrentHealth(HealthState.OK)
    state = HealthState.FAILING if len(streak) >= failing_after else HealthState.RETRYING
    return CurrentHealth(state, streak[0][0], streak[-1][2], streak[-1][3])


def unless_imported_only(health: CurrentHealth, last_crawled: datetime | None,
                         imported_until: datetime | None) -> CurrentHealth:
    """`imported` for a source no crawl has checked, known from imported files alone: a saved file's date is
    no check of the vendor's site, and one that failed to extract says nothing of it either."""
    if last_crawled is None and imported_until is not None:
        return CurrentHealth(HealthState.IMPORTED)
    return health


def health_events(session: Session, failing_after: int = FAILING_AFTER_RUNS,
                  source_ids: Iterable[str] | None = None) -> list[HealthEvent]:
    history = outcome_history(session, source_ids)
    events = [e for sid, rows in history.items() for e in episodes(sid, rows, failing_after)]
    return sorted(events, key=lambda e: (e.at, e.source_id))


UNSTABLE_REVERTS = 3
UNSTABLE_WINDOW_DAYS = 14


def unstable_sources(session: Session, now: datetime, min_reverts: int = UNSTABLE_REVERTS,
                     window_days: int = UNSTABLE_WINDOW_DAYS) -> dict[str, int]:
    """Sources that went back to an earlier text at least `min_reverts` times in the last `window_days`,
    with their revert counts: their page flips between states, so their changes are not news."""
    from sqlalchemy import func, select

    from storage.models import Change

    since = now - timedelta(days=window_days)
    rows = session.execute(select(Change.source_id, func.count()).where(
        Change.kind == ChangeKind.REVERT, Change.detected_at >= since, Change.detected_at <= now).group_by(Change.source_id))
    return {sid: count for sid, count in rows if count >= min_reverts}
