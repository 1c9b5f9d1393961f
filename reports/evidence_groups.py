"""The flagger's evidence for one change, as the change page shows it: grouped, ranked, the rest folded.

A large change cites dozens of sentences. They are grouped by flag category, in the order flags are
listed (``analysis.evidence.CATEGORIES``), and ranked inside each group the
way the flagger's severity rules weigh them (``analysis.meaning``):
statements with a value those rules compare (a period of a retention or
legal flag, an opt-in or opt-out, a negation, that is a promise) first, hedged statements next, the
rest last; in the order the flagger cited them within each rank (which is
the order of the text). The first ``SHOWN`` of a group are shown, the
others folded, unless only one would be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.evidence import CATEGORIES
from analysis.meaning import PERIOD_CATEGORIES

SHOWN = 3

# Ranks, most weighty first.
VALUE, HEDGED, PLAIN = 0, 1, 2


@dataclass(frozen=True)
class EvidenceItem:
    category: str
    side: str | None
    before: str  # the sentence, split around the words the rule matched
    match: str
    after: str
    polarity: str | None = None  # "negated" or "hedged"; None when affirmative
    durations: tuple[str, ...] = field(default=())
    opt: str | None = None
    position: int = 0  # where the flagger cited it

    @property
    def rank(self) -> int:
        if self.durations or self.opt or self.polarity == "negated":
            return VALUE
        return HEDGED if self.polarity == "hedged" else PLAIN


@dataclass(frozen=True)
class EvidenceGroup:
    category: str
    shown: tuple[EvidenceItem, ...]
    folded: tuple[EvidenceItem, ...]

    @property
    def count(self) -> int:
        return len(self.shown) + len(self.folded)


def evidence_items(entries: Iterable[Mapping[str, Any]]) -> list[EvidenceItem]:
    """Stored evidence entries (``analysis.evidence.Evidence.to_json``) as items; entries without a sentence are left out."""
    items = []
    for position, entry in enumerate(entries):
        sentence = entry.get("sentence") or entry.get("match")
        if not isinstance(sentence, str) or not sentence:
            continue
        category = str(entry.get("category") or "flag")
        # A sentence flagged twice ("we keep chats 90 days and share them with …") carries its period in both
        # entries; it is the value of the retention (or legal) flag only.
        durations = tuple(str(d.get("text")) for d in entry.get("durations") or ()
                          if isinstance(d, dict) and d.get("text")) if category in PERIOD_CATEGORIES else ()
        side, polarity, opt = entry.get("side"), entry.get("polarity"), entry.get("opt")
        start, end = entry.get("start"), entry.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(sentence)):
            start = end = len(sentence)
        items.append(EvidenceItem(category, side if isinstance(side, str) else None,
                                  sentence[:start], sentence[start:end], sentence[end:],
                                  polarity if polarity in ("negated", "hedged") else None, durations,
                                  opt if opt in ("opt-in", "opt-out") else None, position))
    return items


def group_evidence(items: Sequence[EvidenceItem], shown: int = SHOWN) -> list[EvidenceGroup]:
    """Items grouped by category (known categories in their order, others after by name), ranked, the rest folded."""
    by_category: dict[str, list[EvidenceItem]] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    order = [c for c in CATEGORIES if c in by_category] + sorted(c for c in by_category if c not in CATEGORIES)
    groups = []
    for category in order:
        ranked = sorted(by_category[category], key=lambda i: (i.rank, i.position))
        cut = len(ranked) if len(ranked) <= shown + 1 else shown
        groups.append(EvidenceGroup(category, tuple(ranked[:cut]), tuple(ranked[cut:])))
    return groups
