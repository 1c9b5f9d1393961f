"""The words an edit changed inside one sentence, and how to quote them.

A modified sentence (or a removed sentence paired with the added sentence
that replaced it) is compared word by word: which words were inserted,
deleted or replaced, where they sit in each version (so that a change can be
said to touch a rule's match or not), whether the whole edit is a typo fix,
and a short quotation of the changed words with a little context for the
one-line summary: ``'… with our affiliates' added``,
``'We will not use your inputs …' → 'We may use your inputs …'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from analysis.plaintext import normalise_typography
from analysis.sequence import opcodes

_TOKEN = re.compile(r"\S+")
_KEY = re.compile(r"\w+")
_DIGITS = re.compile(r"\D")
# A replaced run this similar to the original (difflib ratio) is a spelling fix.
TYPO_RATIO = 0.75
TYPO_MAX_LENGTH_CHANGE = 3
CONTEXT_WORDS = 3
# A replacement shows a little more of what follows, where the object of the changed verb usually is.
CONTEXT_WORDS_AFTER = 4
QUOTE_CHARS = 80
# A respelling is short: longer runs are never compared character by character (which grows with the square
# of their length).
TYPO_MAX_CHARS = 2000


@dataclass(frozen=True)
class Hunk:
    """One changed run: tokens ``i1:i2`` of the old sentence became tokens ``j1:j2`` of the new one."""

    tag: str  # "replace", "delete" or "insert"
    i1: int
    i2: int
    j1: int
    j2: int


@dataclass(frozen=True)
class Edit:
    old: str
    new: str
    old_tokens: tuple[tuple[int, int], ...]
    new_tokens: tuple[tuple[int, int], ...]
    hunks: tuple[Hunk, ...]

    def old_spans(self) -> list[tuple[int, int]]:
        """Character spans of the old sentence that the edit changed (an insertion is an empty span where it goes)."""
        return [_span(self.old_tokens, h.i1, h.i2, len(self.old)) for h in self.hunks]

    def new_spans(self) -> list[tuple[int, int]]:
        return [_span(self.new_tokens, h.j1, h.j2, len(self.new)) for h in self.hunks]

    def touches(self, old_span: tuple[int, int] | None, new_span: tuple[int, int] | None) -> bool:
        """Whether any changed run overlaps ``old_span`` in the old sentence or ``new_span`` in the new one."""
        return any(
            (old_span is not None and _overlaps(a, old_span)) or (new_span is not None and _overlaps(b, new_span))
            for a, b in zip(self.old_spans(), self.new_spans())
        )

    def hunk_touching(self, old_span: tuple[int, int] | None, new_span: tuple[int, int] | None) -> Hunk | None:
        for hunk, a, b in zip(self.hunks, self.old_spans(), self.new_spans()):
            if (old_span is not None and _overlaps(a, old_span)) or (new_span is not None and _overlaps(b, new_span)):
                return hunk
        return None

    def changed_words(self, hunk: Hunk) -> tuple[str, str]:
        """The old and the new words of ``hunk``."""
        return (
            self._text(self.old, self.old_tokens, hunk.i1, hunk.i2),
            self._text(self.new, self.new_tokens, hunk.j1, hunk.j2),
        )

    def main_hunk(self, old_span: tuple[int, int] | None, new_span: tuple[int, int] | None,
                  important: Callable[[str], bool], old_values: list[tuple[int, int]],
                  new_values: list[tuple[int, int]]) -> Hunk | None:
        """The hunk to quote: the one touching the match, else one touching a value (``old_values`` and
        ``new_values`` are spans of named data, recipients, periods) or whose words ``important`` picks, else the longest."""
        touching = self.hunk_touching(old_span, new_span)
        if touching is not None or not self.hunks:
            return touching
        for hunk, a, b in zip(self.hunks, self.old_spans(), self.new_spans()):
            if any(_overlaps(a, span) for span in old_values) or any(_overlaps(b, span) for span in new_values):
                return hunk
        for hunk in self.hunks:
            if any(important(words) for words in self.changed_words(hunk) if words):
                return hunk
        return max(self.hunks, key=lambda h: (h.i2 - h.i1) + (h.j2 - h.j1))

    def is_typo_fix(self, meaningful: re.Pattern[str] | None = None) -> bool:
        """True when every changed run is a close respelling of the old one, with the same digits.

        A change of a word that ``meaningful`` matches (negation, hedges) is
        never a typo fix, however short: "can" → "can't" changes what is said.
        """
        for hunk in self.hunks:
            if hunk.tag != "replace":
                return False
            before = self._text(self.old, self.old_tokens, hunk.i1, hunk.i2)
            after = self._text(self.new, self.new_tokens, hunk.j1, hunk.j2)
            if _DIGITS.sub("", before) != _DIGITS.sub("", after):
                return False
            if meaningful is not None and (meaningful.search(before) or meaningful.search(after)):
                return False
            if abs(len(before) - len(after)) > TYPO_MAX_LENGTH_CHANGE or len(before) > TYPO_MAX_CHARS:
                return False
            if SequenceMatcher(None, before.lower(), after.lower()).ratio() < TYPO_RATIO:
                return False
        return True

    def quote(self, hunk: Hunk | None = None, as_change: bool = False) -> str:
        """The changed words of ``hunk`` (default: the first) with a little context, in quotes.

        An insertion reads ``'… words' added``, a deletion ``'… words'
        removed``, a replacement (or, with ``as_change``, any hunk)
        ``'old words …' → 'new words …'``.
        """
        if not self.hunks:
            return f"'{_cut(self.new)}'"
        hunk = hunk or self.hunks[0]
        # One or two words added or removed read best in context, before and after.
        as_change = as_change or (hunk.i2 - hunk.i1) + (hunk.j2 - hunk.j1) < CONTEXT_WORDS
        if hunk.tag == "insert" and not as_change:
            return f"'{self._phrase(self.new, self.new_tokens, hunk.j1, hunk.j2)}' added"
        if hunk.tag == "delete" and not as_change:
            return f"'{self._phrase(self.old, self.old_tokens, hunk.i1, hunk.i2)}' removed"
        return (
            f"'{self._phrase(self.old, self.old_tokens, hunk.i1, hunk.i2, both=True)}' → "
            f"'{self._phrase(self.new, self.new_tokens, hunk.j1, hunk.j2, both=True)}'"
        )

    @staticmethod
    def _text(sentence: str, tokens: tuple[tuple[int, int], ...], i: int, j: int) -> str:
        if i >= j:
            return ""
        return sentence[tokens[i][0] : tokens[j - 1][1]]

    def _phrase(self, sentence: str, tokens: tuple[tuple[int, int], ...], i: int, j: int, both: bool = False) -> str:
        """Tokens ``i:j`` with up to ``CONTEXT_WORDS`` words before (and after, for a replacement) and "…" for the rest."""
        start = max(0, i - (CONTEXT_WORDS if both or i > 0 else 0))
        if not both and j - i >= CONTEXT_WORDS:
            start = max(0, i - 1)
        end = min(len(tokens), j + (CONTEXT_WORDS_AFTER if both else CONTEXT_WORDS if i == 0 else 0))
        text = _cut(self._text(sentence, tokens, start, end))
        if start > 0:
            text = "… " + text
        if end < len(tokens) and not text.endswith("…"):
            text = text + " …"
        return text


def _span(tokens: tuple[tuple[int, int], ...], i: int, j: int, length: int) -> tuple[int, int]:
    if i < j:
        return tokens[i][0], tokens[j - 1][1]
    at = tokens[i][0] if i < len(tokens) else length
    return at, at


def _overlaps(changed: tuple[int, int], span: tuple[int, int]) -> bool:
    a, b = changed
    start, end = span
    if a == b:  # an insertion touches a span it falls inside
        return start < a < end
    return a < end and start < b


def _cut(text: str) -> str:
    if len(text) <= QUOTE_CHARS:
        return text
    return text[:QUOTE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _tokens(sentence: str) -> tuple[tuple[int, int], ...]:
    return tuple(m.span() for m in _TOKEN.finditer(sentence))


def _keys(sentence: str, tokens: tuple[tuple[int, int], ...]) -> list[str]:
    # Typography normalisation keeps every character in place, so token spans still apply.
    plain = normalise_typography(sentence).casefold()
    if len(plain) != len(sentence):
        plain = sentence.casefold()
    return ["".join(_KEY.findall(plain[a:b])) for a, b in tokens]


def compare(old: str, new: str) -> Edit:
    """The word-level edit from ``old`` to ``new``; case and punctuation alone are not changes."""
    old_tokens = _tokens(old)
    new_tokens = _tokens(new)
    old_keys = _keys(old, old_tokens)
    new_keys = _keys(new, new_tokens)
    hunks = tuple(
        Hunk(tag, i1, i2, j1, j2)
        for tag, i1, i2, j1, j2 in opcodes(old_keys, new_keys)
        if tag != "equal" and ("".join(old_keys[i1:i2]) or "".join(new_keys[j1:j2]))
    )
    return Edit(old, new, old_tokens, new_tokens, hunks)
