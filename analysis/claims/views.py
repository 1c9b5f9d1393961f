"""A claim as a page shows it, now or at any past time.

``status_at`` answers "what was the status at T" from a recorded timeline;
``describe`` gathers what a claim page, ``claims show`` and
``claims/<id>.json`` need: statement, status and since, the timeline, each
piece of evidence with its sentence, matched span and version range, the
wording that replaced the claim, and the sources whose evidence could not be
confirmed lately because they fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analysis.claims.intervals import EvidenceInterval
from analysis.claims.model import Claim
from analysis.claims.status import ClaimState, StatusEvent
from analysis.claims.vocabulary import Cause, ClaimStatus, EndReason, Role


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def status_at(timeline: Sequence[StatusEvent], at: datetime) -> StatusEvent | None:
    """The event whose status was in force at ``at`` (None before the claim was first evaluated)."""
    current = None
    for event in sorted(timeline, key=lambda e: e.since):
        if event.since <= at:
            current = event
        else:
            break
    return current


def evidence_at(intervals: Iterable[EvidenceInterval], at: datetime) -> tuple[EvidenceInterval, ...]:
    """Intervals whose sentence was in its source's version in force at ``at``."""
    return tuple(iv for iv in intervals if iv.held_at(at))


@dataclass(frozen=True)
class Successor:
    """Wording that replaced the claim's: shown as "replaced by", never as support."""

    sentence: str
    source_id: str
    since: datetime
    via: str  # "matcher <id>" (a successors matcher) or "alignment" (a reworded sentence)
    replaces: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "source": self.source_id, "since": _iso(self.since), "via": self.via,
                "replaces": self.replaces}


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    at: datetime | None  # None: now
    status: ClaimStatus
    since: datetime | None
    cause: Cause | None
    timeline: tuple[StatusEvent, ...]
    evidence: tuple[EvidenceInterval, ...]  # supports and contradicts, current ones first
    successors: tuple[Successor, ...]
    unconfirmed: tuple[tuple[str, datetime], ...]  # (source, failing since) for sources holding current evidence

    def current(self) -> tuple[EvidenceInterval, ...]:
        return tuple(iv for iv in self.evidence if self._current(iv))

    def _current(self, iv: EvidenceInterval) -> bool:
        return iv.is_open if self.at is None else iv.held_at(self.at)

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim.to_json(),
            "at": _iso(self.at),
            "status": str(self.status),
            "status_label": self.status.label,
            "since": _iso(self.since),
            "cause": None if self.cause is None else str(self.cause),
            "timeline": [e.to_json() for e in self.timeline],
            "evidence": [dict(iv.to_json(), current=self._current(iv)) for iv in self.evidence],
            "successors": [s.to_json() for s in self.successors],
            "unconfirmed": [{"source": sid, "failing_since": _iso(since)} for sid, since in self.unconfirmed],
        }


def describe(claim: Claim, timeline: Sequence[StatusEvent], intervals: Iterable[EvidenceInterval], *,
             at: datetime | None = None, failing: Mapping[str, datetime] | None = None,
             state: ClaimState | None = None) -> ClaimView:
    """Everything a page needs about ``claim``, as of ``at`` (default: now, i.e. the latest records).

    ``failing`` maps failing sources to the time they started failing.
    ``state`` is the claim's stored state: it dates an *unverified* status,
    which has no event (claims start unverified).
    """
    mine = [iv for iv in intervals if iv.claim_id == claim.id and (at is None or iv.first.at <= at)]
    events = tuple(e for e in sorted(timeline, key=lambda e: e.since)
                   if e.claim_id == claim.id and (at is None or e.since <= at))
    last = events[-1] if events else None

    def current(iv: EvidenceInterval) -> bool:
        return iv.is_open if at is None else iv.held_at(at)

    evidence = sorted((iv for iv in mine if iv.role is not Role.SUCCESSORS),
                      key=lambda iv: (not current(iv), iv.role is not Role.SUPPORTS, iv.source_id, iv.first.at))
    successors = [Successor(iv.sentence, iv.source_id, iv.first.at, f"matcher {iv.matcher_id}")
                  for iv in mine if iv.role is Role.SUCCESSORS and current(iv)]
    for iv in mine:
        if (iv.role is Role.SUPPORTS and iv.end is not None and iv.end.reason is EndReason.REWORDED
                and iv.end.successor and (at is None or iv.end.at <= at)):
            successors.append(Successor(iv.end.successor, iv.source_id, iv.end.at, "alignment", iv.sentence))
    # A sentence that is itself current evidence (a rewording that weakened the claim) is shown as evidence.
    evidence_now = {iv.sentence for iv in evidence if current(iv)}
    unique: dict[str, Successor] = {}
    for s in sorted(successors, key=lambda s: s.since):
        if s.sentence not in evidence_now:
            unique.setdefault(s.sentence, s)
    failing = failing or {}
    unconfirmed = tuple(sorted({(iv.source_id, failing[iv.source_id]) for iv in evidence
                                if current(iv) and iv.source_id in failing}))
    if last is None and state is not None and (at is None or state.since <= at):
        since, cause = state.since, state.cause
    else:
        since, cause = (last.since, last.cause) if last is not None else (None, None)
    return ClaimView(
        claim=claim, at=at,
        status=last.status if last is not None else ClaimStatus.UNVERIFIED,
        since=since,
        cause=cause,
        timeline=events, evidence=tuple(evidence), successors=tuple(unique.values()), unconfirmed=unconfirmed,
    )
