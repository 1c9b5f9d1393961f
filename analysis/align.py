"""Aligning the sentences of two versions.

difflib aligns the sequences of normalised sentences (a few hundred items for
an 8,000-word policy, so a few milliseconds); inside each replaced block,
removed and added sentences are paired greedily by word-set similarity, so
"kept for 30 days" → "kept for 90 days" comes out as one modified sentence
rather than a removal and an addition. Sentences that merely moved (the same
normalised words elsewhere in the other version) are not changes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from analysis.plaintext import word_sequence

# Minimum Jaccard similarity of word sets for two sentences to count as one modified sentence.
PAIR_THRESHOLD = 0.45
# Beyond this many comparisons in one replaced block, a sentence is compared
# only with sentences at a similar relative position (bounds a full rewrite).
_MAX_COMPARISONS = 40_000
_WINDOW = 40


@dataclass(frozen=True)
class SentenceChange:
    """One changed sentence: removed (``new`` is None), added (``old`` is None) or modified."""

    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "modified"


# Keys of the same sentences are asked for again and again: by every
# alignment of two versions of a document and by claim evidence.
@functools.lru_cache(maxsize=65536)
def sentence_key(sentence: str) -> str:
    """The sentence's words, lower-cased, punctuation and typography ignored."""
    return " ".join(word_sequence(sentence))


# A short sentence rewritten into a longer one ("We do not use images to train" →
# "We may use images to train and improve …, unless you turn it off") shares
# most of its words with the new one but few of the new one's: containment
# counts too, scaled down, for sentences long enough not to match by stop words alone.
CONTAINMENT_WEIGHT = 0.6
CONTAINMENT_MIN_WORDS = 6


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    score = shared / len(a | b)
    if min(len(a), len(b)) >= CONTAINMENT_MIN_WORDS:
        score = max(score, CONTAINMENT_WEIGHT * shared / min(len(a), len(b)))
    return score


def _pair_block(removed: Sequence[str], added: Sequence[str]) -> list[SentenceChange]:
    old_words = [frozenset(sentence_key(s).split()) for s in removed]
    new_words = [frozenset(sentence_key(s).split()) for s in added]
    scored: list[tuple[float, int, int]] = []
    full = len(removed) * len(added) <= _MAX_COMPARISONS
    for i, a in enumerate(old_words):
        if full:
            js = range(len(added))
        else:
            centre = round(i * len(added) / max(1, len(removed)))
            js = range(max(0, centre - _WINDOW), min(len(added), centre + _WINDOW + 1))
        for j in js:
            score = _jaccard(a, new_words[j])
            if score >= PAIR_THRESHOLD:
                scored.append((score, i, j))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    old_taken: dict[int, int] = {}
    new_taken: set[int] = set()
    for _, i, j in scored:
        if i not in old_taken and j not in new_taken:
            old_taken[i] = j
            new_taken.add(j)
    changes: list[tuple[int, int, SentenceChange]] = []
    for i, sentence in enumerate(removed):
        if i in old_taken:
            changes.append((old_taken[i], 0, SentenceChange(sentence, added[old_taken[i]])))
        else:
            # Removed sentences sort just before the added sentence that follows them.
            following = min((j for k, j in old_taken.items() if k > i), default=len(added))
            changes.append((following, -1, SentenceChange(sentence, None)))
    for j, sentence in enumerate(added):
        if j not in new_taken:
            changes.append((j, 0, SentenceChange(None, sentence)))
    changes.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in changes]


def align_sentences(old: Sequence[str], new: Sequence[str]) -> list[SentenceChange]:
    """The changed sentences between two sentence lists, in document order."""
    old_keys = [sentence_key(s) for s in old]
    new_keys = [sentence_key(s) for s in new]
    old_present = set(old_keys)
    new_present = set(new_keys)
    matcher = SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    changes: list[SentenceChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = [old[i] for i in range(i1, i2) if old_keys[i] and old_keys[i] not in new_present]
        added = [new[j] for j in range(j1, j2) if new_keys[j] and new_keys[j] not in old_present]
        changes.extend(_pair_block(removed, added))
    return changes
