"""What of an article may be quoted: its flagged sentences, each once, with every category and matched span.

A press article is someone else's text. The report, the feeds and the
command line show only the sentences the flagger cited and those that
mention a claim, each cut to a quotation's length around what matched — and
never so many that the quotations add up to the article: at most
`MAX_QUOTES` sentences and a third of its words in all, shared through one
`QuoteBudget` per article (the sentences that mention a claim first, then
the flagged ones with the most categories first). Pure functions on the
stored evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from analysis.evidence import order_categories

# A quotation, not a copy: a longer sentence is cut around its first matched words.
QUOTE_MAX_CHARS = 320
MAX_QUOTES = 5
MAX_SHARE_OF_WORDS = 1 / 3
ELLIPSIS = "…"


@dataclass(frozen=True)
class Piece:
    text: str
    matched: bool


@dataclass(frozen=True)
class Quote:
    sentence: str  # as quoted (cut to QUOTE_MAX_CHARS, with an ellipsis where it was cut)
    categories: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # matched words in `sentence`, sorted, not overlapping

    @property
    def pieces(self) -> tuple[Piece, ...]:
        out: list[Piece] = []
        position = 0
        for start, end in self.spans:
            if start > position:
                out.append(Piece(self.sentence[position:start], False))
            out.append(Piece(self.sentence[start:end], True))
            position = end
        if position < len(self.sentence):
            out.append(Piece(self.sentence[position:], False))
        return tuple(out)


@dataclass
class QuoteBudget:
    """What one article may still have quoted: sentences and words, shared by every kind of quotation of it.

    The first quotation is always admitted; a sentence already quoted costs nothing again.
    """

    article_words: int | None
    max_quotes: int = MAX_QUOTES
    quoted: dict[str, int] = field(default_factory=dict)  # quotation → its words

    def admit(self, quotation: str) -> bool:
        if quotation in self.quoted:
            return True
        words = len(quotation.split())
        limit = self.article_words * MAX_SHARE_OF_WORDS if self.article_words else None
        if self.quoted and (len(self.quoted) >= self.max_quotes
                            or (limit is not None and sum(self.quoted.values()) + words > limit)):
            return False
        self.quoted[quotation] = words
        return True


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _cut(sentence: str, spans: list[tuple[int, int]], limit: int) -> tuple[str, list[tuple[int, int]]]:
    if len(sentence) <= limit:
        return sentence, spans
    first = spans[0][0] if spans else 0
    start = max(0, min(first - limit // 4, len(sentence) - limit))
    end = start + limit
    text = sentence[start:end]
    # Whole words only: drop the partial word at either cut.
    if start > 0 and " " in text:
        skip = text.index(" ") + 1
        start, text = start + skip, text[skip:]
    if end < len(sentence) and " " in text:
        text = text[:text.rindex(" ")]
    kept = [(max(s, start) - start, min(e, start + len(text)) - start) for s, e in spans
            if e > start and s < start + len(text)]
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if start + len(text) < len(sentence) else ""
    return prefix + text + suffix, [(s + len(prefix), e + len(prefix)) for s, e in kept]


def quotes(evidence: Iterable[Mapping[str, Any]], article_words: int | None = None, limit: int = QUOTE_MAX_CHARS,
           max_quotes: int = MAX_QUOTES, budget: QuoteBudget | None = None) -> tuple[Quote, ...]:
    """The flagged sentences of stored evidence (``Evidence.to_json()`` items), each once, in text order; at
    most `max_quotes` of them and, when the article's length is given, no more than a third of its words
    (one sentence always) — or what `budget`, shared with the article's other quotations, still allows."""
    grouped: dict[str, tuple[list[str], list[tuple[int, int]]]] = {}
    for item in evidence:
        sentence = item.get("sentence")
        if not isinstance(sentence, str) or not sentence.strip():
            continue
        categories, spans = grouped.setdefault(sentence, ([], []))
        category = item.get("category")
        if isinstance(category, str):
            categories.append(category)
        start, end = item.get("start"), item.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(sentence):
            spans.append((start, end))
    found = []
    for sentence, (categories, spans) in grouped.items():
        text, kept = _cut(sentence, _merged(spans), limit)
        found.append(Quote(text, order_categories(categories), tuple(kept)))
    shared = budget if budget is not None else QuoteBudget(article_words, max_quotes)
    chosen = {position for position in sorted(range(len(found)), key=lambda i: (-len(found[i].categories), i))
              if shared.admit(found[position].sentence)}
    return tuple(q for i, q in enumerate(found) if i in chosen)
