"""Value types of the flagger: categories, durations, evidence, classifications.

Everything here is immutable and JSON-serialisable through ``to_json`` so that
storage and reports can keep the flagger's output verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from analysis.vocabulary import FlagCategory, Polarity

CATEGORIES: tuple[str, ...] = tuple(FlagCategory)

POLARITIES: tuple[str, ...] = tuple(Polarity)


def order_categories(categories: set[str] | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The given categories, deduplicated, in ``CATEGORIES`` order."""
    present = set(categories)
    return tuple(c for c in CATEGORIES if c in present)


@dataclass(frozen=True)
class Duration:
    """A period named in a sentence.

    ``days`` is the period in days (hours become fractions, a week is 7
    days, a year 365 and a month a twelfth of that, so that "12 months" and
    "one year" compare equal); ``None`` with ``unbounded=True`` for "indefinitely",
    "as long as necessary", "unbefristet" and the like.
    """

    days: float | None
    text: str
    unbounded: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"days": self.days, "text": self.text, "unbounded": self.unbounded}

    def label(self) -> str:
        """The duration as written ("30 days", "trente jours", "indefinitely"), for summaries."""
        return self.text


@dataclass(frozen=True)
class Evidence:
    """Why a sentence carries a category.

    JSON form (``to_json``), stable field names:

    - ``category``: one of ``CATEGORIES``;
    - ``rule_id``: the id of the rule in ``analysis/rules/<lang>.yaml`` that
      matched, e.g. ``"en.retention.keep-for"``;
    - ``start``, ``end``: character offsets of the match inside ``sentence``;
    - ``match``: ``sentence[start:end]``, for readers of the JSON;
    - ``sentence``: the sentence as plain text (Markdown link targets and
      emphasis removed);
    - ``polarity``: ``"affirmative"``, ``"negated"`` or ``"hedged"``;
    - ``durations``: list of ``{"days": float|null, "text": str,
      "unbounded": bool}``;
    - ``opt``: ``"opt-in"``, ``"opt-out"`` or ``null``;
    - ``data_categories``: names of the kinds of data the sentence mentions;
    - ``side``: ``"old"``, ``"new"`` or ``null`` (set for changes only);
    - ``lead``: for a list item that carries the category of the sentence
      introducing its list ("We share data with these processors:" → the item
      "Acme Analytics"), that sentence; the rule matched there and the span
      covers the whole item; otherwise ``null``.
    """

    category: str
    rule_id: str
    start: int
    end: int
    sentence: str
    polarity: str
    durations: tuple[Duration, ...] = ()
    opt: str | None = None
    data_categories: tuple[str, ...] = ()
    side: str | None = None
    lead: str | None = None

    @property
    def match(self) -> str:
        return self.sentence[self.start : self.end]

    def with_side(self, side: str) -> Evidence:
        return replace(self, side=side)

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "rule_id": self.rule_id,
            "start": self.start,
            "end": self.end,
            "match": self.match,
            "sentence": self.sentence,
            "polarity": self.polarity,
            "durations": [d.to_json() for d in self.durations],
            "opt": self.opt,
            "data_categories": list(self.data_categories),
            "side": self.side,
            "lead": self.lead,
        }


@dataclass(frozen=True)
class Classification:
    """Categories found in a text and the evidence for each."""

    flags: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    def to_json(self) -> dict[str, Any]:
        return {"flags": list(self.flags), "evidence": [e.to_json() for e in self.evidence]}
