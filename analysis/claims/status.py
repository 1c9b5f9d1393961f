"""A claim's status from its open evidence, one step at a time.

From the open evidence of the claim on its in-scope sources::

    sup  = supports whose expect holds;  weak = supports whose expect fails
    con  = contradicts whose expect holds, once every require_all group of
           contradicts holds open evidence
    sup and con                         → conflicting
    con                                 → contradicted
    sup and require_all (supports) met  → supported
    weak or sup                         → weakened

With none of these, the status follows from what ended in this step:

    supports ended by the vendor's wording          → no longer stated
    evidence ended by a tracking change or an
      undeclared source, the claim having stood
      on evidence                                   → tracking changed
    contradicts ended by the vendor's wording       → unverified
    nothing ended                                   → unchanged (unverified for a new claim)

and where evidence ended by a tracking change and the status read from the
remaining evidence differs from the one before, the status is *tracking
changed* as well: what we watch changed, so the difference is not news.

Never on missing data: a failing source keeps its evidence (its intervals
stay open, last confirmed when it last answered) and nothing changes; a
claim whose matching ran out of time keeps its evidence on that document.

Deterministic and idempotent: the status depends only on the evidence and
the step; re-applying a version that changes no evidence changes nothing. A
claim starts *unverified* when its first in-scope source is first seen (a
state, not an event); an event is produced only when the status differs from
the one before, and its "since" is the time of the change that caused it. Only a vendor's
substantive change is announced (``analysis.vocabulary.is_announced``), and
never a step away from *tracking changed*, whose previous state nobody
reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analysis.claims.intervals import EvidenceInterval, SourceStep
from analysis.claims.model import Claim, Group
from analysis.claims.vocabulary import Cause, ClaimStatus, Role
from analysis.vocabulary import ChangeKind, is_announced


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class ClaimState:
    claim_id: str
    status: ClaimStatus
    since: datetime
    cause: Cause

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimState:
        return cls(claim_id=data["claim"], status=ClaimStatus(data["status"]),
                   since=datetime.fromisoformat(data["since"]), cause=Cause(data["cause"]))

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "status": str(self.status), "since": _iso(self.since),
                "cause": str(self.cause)}


@dataclass(frozen=True)
class StatusEvent:
    """A change of a claim's status, with the step that caused it.

    ``removed`` and ``added`` quote the claim's evidence sentences that ended
    and began in that step (the feed quotes them). ``reevaluated_at`` is set
    on events that appeared when the history was evaluated again after the
    claim's declaration changed: recorded and shown, never announced.
    """

    claim_id: str
    status: ClaimStatus
    previous: ClaimStatus | None
    since: datetime
    cause: Cause
    source_id: str | None
    version: int | None
    change_kind: ChangeKind | None
    announce: bool
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    reevaluated_at: datetime | None = None

    @property
    def identity(self) -> tuple[str, str, str, str, str | None, int | None]:
        """Stable id: the same status caused by the same step is the same event."""
        return (self.claim_id, str(self.status), _iso(self.since), str(self.cause), self.source_id, self.version)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatusEvent:
        return cls(
            claim_id=data["claim"], status=ClaimStatus(data["status"]),
            previous=None if data["previous"] is None else ClaimStatus(data["previous"]),
            since=datetime.fromisoformat(data["since"]), cause=Cause(data["cause"]), source_id=data["source"],
            version=data["version"],
            change_kind=None if data["change_kind"] is None else ChangeKind(data["change_kind"]),
            announce=bool(data["announce"]), removed=tuple(data["removed"]), added=tuple(data["added"]),
            reevaluated_at=_time(data.get("reevaluated_at")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim_id,
            "status": str(self.status),
            "previous": None if self.previous is None else str(self.previous),
            "since": _iso(self.since),
            "cause": str(self.cause),
            "source": self.source_id,
            "version": self.version,
            "change_kind": None if self.change_kind is None else str(self.change_kind),
            "announce": self.announce,
            "removed": list(self.removed),
            "added": list(self.added),
            "reevaluated_at": None if self.reevaluated_at is None else _iso(self.reevaluated_at),
        }


def _groups_met(groups: Sequence[Group], present: set[str]) -> bool:
    return all(group & present for group in groups)


# What a status is read from: (role, whether the expect holds, matcher id).
_Key = tuple[Role, bool, str]


@dataclass(frozen=True)
class Tally:
    """How many open evidence intervals of one claim there are, by role, expect held or not, and matcher: all
    its status is read from. The engine keeps one per claim up to date from each step's changes, so reading a
    status does not gather the claim's intervals from every source (a claim covering a thousand sources would
    make every night's evaluation quadratic)."""

    counts: Mapping[_Key, int]

    @classmethod
    def of(cls, intervals: Iterable[EvidenceInterval]) -> Tally:
        return cls({}).changed(added=intervals)

    def changed(self, *, added: Iterable[EvidenceInterval] = (), removed: Iterable[EvidenceInterval] = ()) -> Tally:
        """This tally with the open ones of ``added`` counted and those of ``removed`` no longer."""
        counts = dict(self.counts)
        for delta, intervals in ((1, added), (-1, removed)):
            for iv in intervals:
                if iv.is_open:
                    key = (iv.role, iv.expect_met, iv.matcher_id)
                    left = counts.get(key, 0) + delta
                    if left:
                        counts[key] = left
                    else:
                        del counts[key]
        return Tally(counts)

    def matchers(self, role: Role, met: bool) -> set[str]:
        return {matcher for (r, m, matcher) in self.counts if r is role and m == met}


def status_of(claim: Claim, tally: Tally) -> ClaimStatus | None:
    """The status read from the claim's open evidence (its `Tally`), or None when no supporting or contradicting
    evidence is open."""
    sup = tally.matchers(Role.SUPPORTS, True)
    weak = tally.matchers(Role.SUPPORTS, False)
    con = tally.matchers(Role.CONTRADICTS, True)
    if not _groups_met(claim.require_all.get(Role.CONTRADICTS, ()), con):
        con = set()
    if sup and con:
        return ClaimStatus.CONFLICTING
    if con:
        return ClaimStatus.CONTRADICTED
    if sup and _groups_met(claim.require_all.get(Role.SUPPORTS, ()), sup):
        return ClaimStatus.SUPPORTED
    if sup or weak:
        return ClaimStatus.WEAKENED
    return None


def evidence_status(claim: Claim, open_intervals: Iterable[EvidenceInterval]) -> ClaimStatus | None:
    """The status read from open evidence, or None when no supporting or contradicting evidence is open."""
    return status_of(claim, Tally.of(iv for iv in open_intervals if iv.claim_id == claim.id))


def next_status(claim: Claim, previous: ClaimState | None, evidence: Tally,
                step: SourceStep) -> tuple[ClaimState, StatusEvent | None]:
    """The claim's state after ``step``, and the event when its status changed.

    ``evidence``: the `Tally` of the claim's open intervals on every in-scope
    source after the step.
    """
    if step.cause is None:
        raise ValueError("a step that cannot change evidence (confirmed, failed) has no status")
    content = status_of(claim, evidence)
    ended = [iv for iv in step.closed if iv.claim_id == claim.id and iv.role is not Role.SUCCESSORS]
    tracking_ended = any(iv.end is not None and not iv.end.reason.substantive for iv in ended)
    prev = previous.status if previous is not None else None
    if content is not None:
        status = ClaimStatus.TRACKING_CHANGED if tracking_ended and prev is not None and content != prev else content
    elif prev is None:
        status = ClaimStatus.UNVERIFIED
    elif any(iv.role is Role.SUPPORTS and iv.end is not None and iv.end.reason.substantive for iv in ended):
        status = ClaimStatus.NO_LONGER_STATED
    elif prev.from_evidence:
        status = ClaimStatus.TRACKING_CHANGED if tracking_ended else ClaimStatus.UNVERIFIED
    else:
        status = prev
    if previous is not None and status == prev:
        return previous, None
    state = ClaimState(claim_id=claim.id, status=status, since=step.at, cause=step.cause)
    if previous is None and status is ClaimStatus.UNVERIFIED:
        # Every claim starts unverified: only a status read from evidence is an event.
        return state, None
    announce = (step.cause is Cause.VENDOR_CHANGE and step.change_kind is not None and is_announced(step.change_kind)
                and prev is not None and prev is not ClaimStatus.TRACKING_CHANGED)
    event = StatusEvent(
        claim_id=claim.id, status=status, previous=prev, since=step.at, cause=step.cause,
        source_id=step.state.source.id, version=step.version, change_kind=step.change_kind, announce=announce,
        removed=tuple(dict.fromkeys(iv.sentence for iv in step.closed if iv.claim_id == claim.id)),
        added=tuple(dict.fromkeys(iv.sentence for iv in step.opened if iv.claim_id == claim.id)),
    )
    return state, event
