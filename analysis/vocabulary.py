"""The fixed vocabularies of change analysis, each in one place.

They are ``StrEnum``s: a member is equal to its string value, so stored rows,
JSON output and YAML rule files keep using the plain words.
"""

from __future__ import annotations

from enum import StrEnum


class FlagCategory(StrEnum):
    """What a flagged sentence is about; the order is the order flags are listed in."""

    RETENTION = "retention"
    TRAINING = "training"
    SHARING = "sharing"
    CONTROLS = "controls"
    SENSITIVE = "sensitive"
    LEGAL = "legal"


class Polarity(StrEnum):
    AFFIRMATIVE = "affirmative"
    NEGATED = "negated"
    HEDGED = "hedged"


class Opt(StrEnum):
    """How a practice depends on the user's choice."""

    OPT_IN = "opt-in"  # only if the user agrees or turns it on
    OPT_OUT = "opt-out"  # unless the user objects or turns it off


class Severity(StrEnum):
    """How much a change matters, most severe first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"

    @property
    def rank(self) -> int:
        """0 for the most severe; sorts severities from high to none."""
        return list(Severity).index(self)


class UnitKind(StrEnum):
    """What a unit of text is in its document; headings and contents entries name topics, they state nothing."""

    HEADING = "heading"
    CONTENTS = "contents"  # a table-of-contents entry: a link to a place in the same page
    ITEM = "item"  # a list item
    CELL = "cell"  # a table cell, or one line of it
    PARAGRAPH = "paragraph"

    @property
    def states(self) -> bool:
        """Whether a unit of this kind can carry a statement about a practice."""
        return self not in (UnitKind.HEADING, UnitKind.CONTENTS)


class ChangeKind(StrEnum):
    """What kind of step a change is; only substantive changes are news."""

    SUBSTANTIVE = "substantive"  # the wording changed
    FORMATTING = "formatting"  # the same words once formatting, case, punctuation and link targets are ignored
    REVERT = "revert"  # the text went back to one of the source's recent versions
    TECHNICAL = "technical"  # re-derived from stored snapshots after the extraction rules changed


def is_announced(kind: str) -> bool:
    """Whether a change of this kind is announced (feeds, notifications, claim status news).

    Every change is recorded and shown; only a change in the vendor's wording is
    news. Formatting, a return to a recent wording and re-derivations after a
    rule change are not.
    """
    return kind == ChangeKind.SUBSTANTIVE


class Opt(StrEnum):
    """Whether a sentence describes a practice users must opt into or can opt out of."""

    OPT_IN = "opt-in"
    OPT_OUT = "opt-out"
