"""The fixed vocabularies of claim tracking, each in one place.

``StrEnum``s: a member equals its string value, so stored rows, JSON output
and the YAML declarations use the plain words.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a matched sentence says about a claim."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    # Wording that replaced the claim's: shown as "replaced by", never counted as support.
    SUCCESSORS = "successors"


class ClaimStatus(StrEnum):
    """Where a claim stands against the vendor's own current wording."""

    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    CONFLICTING = "conflicting"
    WEAKENED = "weakened"
    NO_LONGER_STATED = "no_longer_stated"
    UNVERIFIED = "unverified"
    TRACKING_CHANGED = "tracking_changed"

    @property
    def label(self) -> str:
        """The status as a reader sees it ("no longer stated", "tracking changed — needs review")."""
        if self is ClaimStatus.TRACKING_CHANGED:
            return "tracking changed — needs review"
        return self.value.replace("_", " ")

    @property
    def from_evidence(self) -> bool:
        """Whether the status is read from open evidence (rather than from its absence)."""
        return self in _FROM_EVIDENCE

    @property
    def stale_to_repeat(self) -> bool:
        """Whether an article repeating the claim while it has this status repeats what the vendor no longer
        says in full: it stopped saying it, says the opposite, or says only part of it (a 30-day claim
        against "up to 90 days")."""
        return self in _STALE


_FROM_EVIDENCE = frozenset({ClaimStatus.SUPPORTED, ClaimStatus.CONTRADICTED, ClaimStatus.CONFLICTING,
                            ClaimStatus.WEAKENED})
_STALE = frozenset({ClaimStatus.NO_LONGER_STATED, ClaimStatus.CONTRADICTED, ClaimStatus.WEAKENED})


class EndReason(StrEnum):
    """Why an evidence interval ended."""

    REMOVED = "removed"  # the vendor dropped the sentence
    REWORDED = "reworded"  # the vendor replaced it; the interval names the successor sentence
    TRACKING_CHANGED = "tracking_changed"  # what is tracked changed (URL, selector, series, re-extraction)
    SOURCE_UNDECLARED = "source_undeclared"  # the source is no longer declared

    @property
    def substantive(self) -> bool:
        """Whether the vendor's wording caused the end (as opposed to a change in what is tracked)."""
        return self in (EndReason.REMOVED, EndReason.REWORDED)


class Cause(StrEnum):
    """What caused an evaluation step and so any status event it produces."""

    TRACKING_START = "tracking_start"  # the first version of a source
    VENDOR_CHANGE = "vendor_change"  # a new version of the vendor's document
    TRACKING_CHANGE = "tracking_change"  # a version recorded under a changed declaration, or re-derived
    SOURCE_UNDECLARED = "source_undeclared"


class Stance(StrEnum):
    """How a press sentence that mentions a claim treats it."""

    REPORTS = "reports"  # tells of the claim as the vendor's earlier or changed wording
    DISPUTES = "disputes"  # questions or contradicts it
    REPEATS = "repeats"  # states it as current, attributed or not


class MentionReview(StrEnum):
    """A reader's verdict on a found mention."""

    UNREVIEWED = "unreviewed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
