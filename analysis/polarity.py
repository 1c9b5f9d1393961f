"""Polarity of a rule match: affirmative, negated or hedged.

The scope of a match is its clause: from the last clause boundary before it
("but", "unless", "and we", "jedoch", "mais", ";" …) to a few words after it, stopping
at the next comma or clause punctuation. Negation cues inside the scope make
the match ``negated`` (this catches "we do not use … to train", "werden nicht
zum Training verwendet" and the French "ne … pas" around the verb); otherwise
hedge cues ("may", "kann", "peut") make it ``hedged``. Phrases such as "no
longer than necessary" or "nicht länger als" are masked first: they limit a
practice, they do not deny it.
"""

from __future__ import annotations

import re

from analysis.rules import LanguageData
from analysis.vocabulary import Polarity

_CLAUSE_END = re.compile(r"[,;:.!?()\[\]]")
_WORD = re.compile(r"\S+")


def _mask(text: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return text
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def scope(sentence: str, start: int, end: int, data: LanguageData) -> str:
    """The part of ``sentence`` whose cues govern the match at ``start:end``."""
    scope_start = 0
    for m in data.clause_boundaries.finditer(sentence, 0, start):
        scope_start = m.end()
    after = sentence[end:]
    stop = _CLAUSE_END.search(after)
    after = after[: stop.start()] if stop else after
    words = list(_WORD.finditer(after))
    if len(words) > data.negation_words_after:
        after = after[: words[data.negation_words_after - 1].end()] if data.negation_words_after else ""
    return sentence[scope_start:end] + after


def polarity(sentence: str, start: int, end: int, data: LanguageData) -> Polarity:
    """``"negated"``, ``"hedged"`` or ``"affirmative"`` for the match at ``start:end``."""
    text = _mask(scope(sentence, start, end, data), data.negation_ignore)
    if data.negation.search(text):
        return Polarity.NEGATED
    if data.hedges.search(text):
        return Polarity.HEDGED
    return Polarity.AFFIRMATIVE
