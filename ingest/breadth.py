"""How much of a text a new one replaces: whether a capture is plausible as the next state of a page.

A real wording change, even a rewrite, keeps a good share of the page's
word sequences and stays within a few times its size: over OpenAI's 908
recorded changes (../shared/ota-data) the lowest share of three-word
sequences kept was 0.22 and the size ratios stayed between 0.6 and 2.1.
A broken capture does not: a header-only shell (7 words for 514 there), a
URL serving a whole bundle of terms, another page altogether. Such a
capture is held until a later fetch confirms it (see `ingest.decide`).

Linear in the length of both texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A change keeping less than this share of the page's three-word sequences replaces almost everything.
MIN_SIMILARITY = 0.1
# A text more than this many times longer or shorter (in words) than the one before it.
MAX_SIZE_RATIO = 5.0
# Below this many words (in the longer of the two texts) nothing is "almost everything": a change to a page
# of a line or two is judged as any other.
MIN_WORDS = 20
SHINGLE = 3

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Breadth:
    old_words: int
    new_words: int
    similarity: float  # Dice coefficient of the two texts' sets of three-word sequences, 0 … 1

    @property
    def ratio(self) -> float:
        """New size over old size, in words."""
        return self.new_words / max(self.old_words, 1)

    @property
    def over_wide(self) -> bool:
        """The new text replaces almost all of the old one, or is far larger or smaller."""
        if max(self.old_words, self.new_words) < MIN_WORDS:
            return False
        return (self.similarity < MIN_SIMILARITY or self.ratio > MAX_SIZE_RATIO
                or self.ratio < 1 / MAX_SIZE_RATIO)

    @property
    def shell(self) -> bool:
        """The new text is a small remnant of the old one (a header, a navigation bar, a loading screen)."""
        return self.old_words >= MIN_WORDS and self.ratio < 1 / MAX_SIZE_RATIO

    def describe(self) -> str:
        return (f"{self.new_words} words for {self.old_words}, {self.similarity:.0%} of its word sequences kept")


def _shingles(words: list[str]) -> set[int]:
    if len(words) < SHINGLE:
        return {hash(tuple(words))} if words else set()
    return {hash(tuple(words[i:i + SHINGLE])) for i in range(len(words) - SHINGLE + 1)}


def breadth(old: str, new: str) -> Breadth:
    old_words = _WORD.findall(old.lower())
    new_words = _WORD.findall(new.lower())
    a, b = _shingles(old_words), _shingles(new_words)
    similarity = 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0
    return Breadth(len(old_words), len(new_words), similarity)


def plausible_after(old: str, new: str, min_fraction: float) -> bool:
    """Whether `new` could be the next state of a page whose text was `old`: not shrunk below `min_fraction`
    of it (in characters, as the fetch guard counts) and not replacing almost all of it."""
    if min_fraction > 0 and len(new) < min_fraction * len(old):
        return False
    return not breadth(old, new).over_wide
