"""The claim engine: one event at a time, or a whole history as a fold.

``apply(claims, state, event)`` is the incremental step storage calls for
every recorded version (and fetch outcome) of a source: it updates the
source's evidence intervals (``analysis.claims.intervals``) and re-reads the
status of every claim whose evidence changed, or that the source covers and
that has no status yet (``analysis.claims.status``).

``evaluate(claims, events)`` folds ``apply`` over a history (the events of
every in-scope source, in time order): what a claims file change needs.
``reconcile`` then sets the re-evaluated timeline against the recorded one,
so that nothing the re-evaluation reveals is announced, unless what it
reveals is the vendor's own history recorded late.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from analysis.claims.events import SourceEvent, SourceVersion
from analysis.claims.intervals import EvidenceInterval, SourceState, SourceStep, VersionOrderError, step_source
from analysis.claims.limits import DEFAULT_TIME_LIMIT
from analysis.claims.matching import ClaimSet, EvaluationError, MatchCache
from analysis.claims.status import ClaimState, StatusEvent, Tally, next_status
from analysis.claims.vocabulary import ClaimStatus


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class EngineState:
    """Open evidence per source and the current state of each claim.

    To resume from storage, ``sources`` must hold every source with open
    intervals of the claims the event's source covers (their open intervals
    suffice), and the event's source with its current version's text
    (``SourceState.resume``).
    """

    sources: dict[str, SourceState] = field(default_factory=dict)
    statuses: dict[str, ClaimState] = field(default_factory=dict)
    # Each claim's open evidence over every source, tallied (`analysis.claims.status.Tally`): worked out from
    # `sources` when not given, then kept up to date by `apply`, one source's change at a time.
    tallies: Mapping[str, Tally] | None = None

    def open_intervals(self, claim_id: str | None = None) -> list[EvidenceInterval]:
        return [iv for s in self.sources.values() for iv in s.intervals if claim_id is None or iv.claim_id == claim_id]

    def tally(self) -> Mapping[str, Tally]:
        return self.tallies if self.tallies is not None else _retallied({}, (), self.open_intervals())


def _retallied(tallies: Mapping[str, Tally], before: Sequence[EvidenceInterval],
               after: Sequence[EvidenceInterval]) -> Mapping[str, Tally]:
    """``tallies`` once one source's open intervals went from ``before`` to ``after``."""
    if before == after:
        return tallies
    removed: dict[str, list[EvidenceInterval]] = {}
    added: dict[str, list[EvidenceInterval]] = {}
    for intervals, by_claim in ((before, removed), (after, added)):
        for iv in intervals:
            by_claim.setdefault(iv.claim_id, []).append(iv)
    result = dict(tallies)
    for claim_id in removed.keys() | added.keys():
        result[claim_id] = result.get(claim_id, Tally({})).changed(added=added.get(claim_id, ()),
                                                                    removed=removed.get(claim_id, ()))
    return result


@dataclass(frozen=True)
class Update:
    """What one event changed: the source step, the claim states re-read, the status events.

    ``step`` is None for a fetch outcome or an undeclaration of a source the
    engine holds no version of (a source failing on its first fetch): there is
    no evidence to change.
    """

    step: SourceStep | None
    statuses: dict[str, ClaimState]
    events: tuple[StatusEvent, ...]
    left_out: tuple[EvaluationError, ...] = ()  # a version that cannot be read in its place (`VersionOrderError`)

    @property
    def errors(self) -> tuple[EvaluationError, ...]:
        return self.left_out if self.step is None else self.step.errors


def _source_id(event: SourceEvent) -> str:
    return event.source.id if isinstance(event, SourceVersion) else event.source_id


def apply(claims: ClaimSet, state: EngineState, event: SourceEvent, *, time_limit: float = DEFAULT_TIME_LIMIT,
          cache: MatchCache | None = None) -> tuple[EngineState, Update]:
    """The engine state after ``event``, and what changed. Pure: ``state`` is left as it was."""
    source_id = _source_id(event)
    if not isinstance(event, SourceVersion) and source_id not in state.sources:
        return state, Update(step=None, statuses={}, events=())
    before = state.sources.get(source_id)
    try:
        step = step_source(claims, before, event, time_limit=time_limit, cache=cache)
    except VersionOrderError as exc:
        # A record whose versions are not in time order (`policywatch check` names them): this version is left
        # out, an error of each claim reading the source, and every other source is evaluated as ever.
        number = event.number if isinstance(event, SourceVersion) else None
        left_out = tuple(EvaluationError(c.id, source_id, number, "", str(exc))
                         for c in claims.in_scope(event.source))
        return state, Update(step=None, statuses={}, events=(), left_out=left_out)
    sources = dict(state.sources)
    sources[source_id] = step.state
    tallies = _retallied(state.tally(), before.intervals if before is not None else (), step.state.intervals)
    statuses = dict(state.statuses)
    changed: dict[str, ClaimState] = {}
    events: list[StatusEvent] = []
    if step.cause is not None:
        failed = {e.claim_id for e in step.errors}
        due = set(step.touched())
        due |= {c.id for c in claims.in_scope(step.state.source) if c.id not in statuses and c.id not in failed}
        for claim_id in sorted(due):
            if claim_id not in claims:
                continue
            new_state, status_event = next_status(claims[claim_id], statuses.get(claim_id),
                                                  tallies.get(claim_id, Tally({})), step)
            statuses[claim_id] = changed[claim_id] = new_state
            if status_event is not None:
                events.append(status_event)
    return (EngineState(sources=sources, statuses=statuses, tallies=tallies),
            Update(step=step, statuses=changed, events=tuple(events)))


@dataclass(frozen=True)
class Evaluation:
    """A whole history evaluated: every interval, each claim's timeline, the errors."""

    state: EngineState
    intervals: tuple[EvidenceInterval, ...]
    timelines: dict[str, tuple[StatusEvent, ...]]
    errors: tuple[EvaluationError, ...]

    def timeline(self, claim_id: str) -> tuple[StatusEvent, ...]:
        return self.timelines.get(claim_id, ())

    def intervals_of(self, claim_id: str) -> tuple[EvidenceInterval, ...]:
        return tuple(iv for iv in self.intervals if iv.claim_id == claim_id)


def evaluate(claims: ClaimSet, events: Iterable[SourceEvent], *, state: EngineState | None = None,
             time_limit: float = DEFAULT_TIME_LIMIT) -> Evaluation:
    """Fold ``apply`` over ``events`` (in time order; each source's versions in order)."""
    state = state or EngineState()
    cache = MatchCache()
    ended: list[EvidenceInterval] = []
    timelines: dict[str, list[StatusEvent]] = {}
    errors: list[EvaluationError] = []
    for event in events:
        state, update = apply(claims, state, event, time_limit=time_limit, cache=cache)
        if update.step is not None:
            ended.extend(update.step.closed)
        errors.extend(update.errors)
        for status_event in update.events:
            timelines.setdefault(status_event.claim_id, []).append(status_event)
    intervals = tuple(sorted(ended + state.open_intervals(), key=lambda iv: (iv.first.at, iv.identity)))
    return Evaluation(state=state, intervals=intervals, timelines={k: tuple(v) for k, v in timelines.items()},
                      errors=tuple(errors))


@dataclass(frozen=True)
class Revision:
    """A claim whose declaration changed, and what the re-evaluation did to its current status."""

    claim_id: str
    at: datetime
    before: ClaimStatus | None
    after: ClaimStatus | None

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "at": _iso(self.at),
                "before": None if self.before is None else str(self.before),
                "after": None if self.after is None else str(self.after)}


def reconcile(claim_id: str, recorded: Sequence[StatusEvent], reevaluated: Sequence[StatusEvent],
              at: datetime, *, keep_announcements: bool = False) -> tuple[tuple[StatusEvent, ...], Revision]:
    """The timeline to keep after the claim's declaration changed at ``at``.

    The re-evaluated timeline replaces the recorded one. Events that were
    already recorded keep their announce flag; every other event is marked
    ``reevaluated_at`` and never announced: it is news about our matchers,
    not about the vendor. With ``keep_announcements`` (evaluated again
    because the vendor's own earlier history was recorded late, not because
    the matching changed) a new event keeps the flag the engine gave it, as
    the same history recorded in time order would have.
    """
    known = {e.identity: e for e in recorded}
    timeline = []
    for event in reevaluated:
        kept = known.get(event.identity)
        if kept is not None:
            timeline.append(replace(event, announce=kept.announce, reevaluated_at=kept.reevaluated_at))
        else:
            timeline.append(replace(event, announce=event.announce and keep_announcements, reevaluated_at=at))
    before = recorded[-1].status if recorded else None
    after = timeline[-1].status if timeline else None
    return tuple(timeline), Revision(claim_id=claim_id, at=at, before=before, after=after)


def history_events(versions: Mapping[str, Sequence[SourceEvent]]) -> list[SourceEvent]:
    """Events of several sources merged in time order (ties: by source id), each source's order kept."""
    tagged = [(e.at, sid, i, e) for sid, evs in versions.items() for i, e in enumerate(evs)]
    tagged.sort(key=lambda t: (t[0], t[1], t[2]))
    return [t[3] for t in tagged]
