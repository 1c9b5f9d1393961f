"""Aligning the sentences of two versions.

difflib aligns the sequences of normalised sentences (a few hundred items for
an 8,000-word policy, so a few milliseconds); inside each replaced block,
removed and added sentences are paired greedily by word-set similarity, so
"kept for 30 days" → "kept for 90 days" comes out as one modified sentence
rather than a removal and an addition. Sentences that merely moved (the same
normalised words elsewhere in the other version) are not changes.

``pair_across`` then pairs what is left anywhere in the change, with a score
the caller gives (``analysis.meaning`` scores sentences that are similar or
speak of the same practice), so that a promise removed in one place and its
replacement added a few paragraphs further down come out as one edit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from analysis.budget import UNBOUNDED, Budget
from analysis.plaintext import plain_words
from analysis.sequence import opcodes

# Minimum Jaccard similarity of word sets for two sentences to count as one modified sentence.
PAIR_THRESHOLD = 0.45
# Beyond this many comparisons in one replaced block, a sentence is compared
# only with sentences at a similar relative position (bounds a full rewrite).
_MAX_COMPARISONS = 40_000
_WINDOW = 40


@dataclass(frozen=True)
class SentenceChange:
    """One changed sentence: removed (``new`` is None), added (``old`` is None) or modified.

    ``old_index`` and ``new_index`` are the positions of the sentences in the
    lists given to ``align_sentences``.
    """

    old: str | None
    new: str | None
    old_index: int | None = None
    new_index: int | None = None

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
    """The words of a plain-text sentence, lower-cased, punctuation and typography ignored."""
    return " ".join(plain_words(sentence))


def word_set(sentence: str) -> frozenset[str]:
    return frozenset(sentence_key(sentence).split())


# A short sentence rewritten into a longer one ("We do not use images to train" →
# "We may use images to train and improve …, unless you turn it off") shares
# most of its words with the new one but few of the new one's: containment
# counts too, scaled down, for sentences long enough not to match by stop words alone.
CONTAINMENT_WEIGHT = 0.6
CONTAINMENT_MIN_WORDS = 6


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets, or scaled containment for longer sentences, whichever is higher."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    score = shared / len(a | b)
    if min(len(a), len(b)) >= CONTAINMENT_MIN_WORDS:
        score = max(score, CONTAINMENT_WEIGHT * shared / min(len(a), len(b)))
    return score


def _window(i: int, count_i: int, count_j: int, full: bool) -> range:
    if full:
        return range(count_j)
    centre = round(i * count_j / max(1, count_i))
    return range(max(0, centre - _WINDOW), min(count_j, centre + _WINDOW + 1))


def _greedy(scored: list[tuple[float, int, int]]) -> dict[int, int]:
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    taken: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in scored:
        if i not in taken and j not in used:
            taken[i] = j
            used.add(j)
    return taken


def _pair_block(removed: Sequence[tuple[int, str]], added: Sequence[tuple[int, str]],
                old_keys: Sequence[str], new_keys: Sequence[str], budget: Budget = UNBOUNDED) -> list[SentenceChange]:
    old_words = [frozenset(old_keys[i].split()) for i, _ in removed]
    new_words = [frozenset(new_keys[j].split()) for j, _ in added]
    scored: list[tuple[float, int, int]] = []
    full = len(removed) * len(added) <= _MAX_COMPARISONS
    for i, a in enumerate(old_words):
        window = _window(i, len(removed), len(added), full)
        budget.spend(len(window))
        for j in window:
            score = similarity(a, new_words[j])
            if score >= PAIR_THRESHOLD:
                scored.append((score, i, j))
    old_taken = _greedy(scored)
    new_taken = set(old_taken.values())
    # Removed sentences sort just before the added sentence that follows them: the first one paired
    # with a later removed sentence.
    following = [len(added)] * (len(removed) + 1)
    for i in range(len(removed) - 1, -1, -1):
        following[i] = min(following[i + 1], old_taken.get(i + 1, len(added)) if i + 1 < len(removed) else len(added))
    changes: list[tuple[int, int, SentenceChange]] = []
    for i, (oi, sentence) in enumerate(removed):
        if i in old_taken:
            j = old_taken[i]
            changes.append((j, 0, SentenceChange(sentence, added[j][1], oi, added[j][0])))
        else:
            changes.append((following[i], -1, SentenceChange(sentence, None, oi, None)))
    for j, (nj, sentence) in enumerate(added):
        if j not in new_taken:
            changes.append((j, 0, SentenceChange(None, sentence, None, nj)))
    changes.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in changes]


def align_sentences(old: Sequence[str], new: Sequence[str], old_keys: Sequence[str] | None = None,
                    new_keys: Sequence[str] | None = None, budget: Budget = UNBOUNDED) -> list[SentenceChange]:
    """The changed sentences between two sentence lists, in document order.

    ``old_keys`` and ``new_keys`` are the sentences' ``sentence_key``s when the caller has them.
    """
    old_keys = [sentence_key(s) for s in old] if old_keys is None else old_keys
    new_keys = [sentence_key(s) for s in new] if new_keys is None else new_keys
    old_present = set(old_keys)
    new_present = set(new_keys)
    changes: list[SentenceChange] = []
    for tag, i1, i2, j1, j2 in opcodes(old_keys, new_keys):
        if tag == "equal":
            continue
        removed = [(i, old[i]) for i in range(i1, i2) if old_keys[i] and old_keys[i] not in new_present]
        added = [(j, new[j]) for j in range(j1, j2) if new_keys[j] and new_keys[j] not in old_present]
        changes.extend(_pair_block(removed, added, old_keys, new_keys, budget))
    return changes


def pair_across(changes: list[SentenceChange], score: Callable[[SentenceChange, SentenceChange], float],
                budget: Budget = UNBOUNDED) -> list[SentenceChange]:
    """Pair removed and added sentences anywhere in ``changes``, greedily by ``score`` (0: not a pair).

    A pair takes the place of its removed sentence; the added sentence's own
    entry goes away. A large rewrite compares each removed sentence only with
    added sentences at a similar relative position, which bounds the cost.
    """
    removed = [k for k, c in enumerate(changes) if c.new is None]
    added = [k for k, c in enumerate(changes) if c.old is None]
    if not removed or not added:
        return changes
    full = len(removed) * len(added) <= _MAX_COMPARISONS
    scored: list[tuple[float, int, int]] = []
    for i, k in enumerate(removed):
        window = _window(i, len(removed), len(added), full)
        budget.spend(len(window))
        for j in window:
            s = score(changes[k], changes[added[j]])
            if s > 0:
                scored.append((s, i, j))
    if not scored:
        return changes
    taken = _greedy(scored)
    merged = {removed[i]: added[j] for i, j in taken.items()}
    dropped = set(merged.values())
    result: list[SentenceChange] = []
    for k, change in enumerate(changes):
        if k in dropped:
            continue
        if k in merged:
            other = changes[merged[k]]
            change = replace(change, new=other.new, new_index=other.new_index)
        result.append(change)
    return result
