"""What of an article may be quoted: its flagged sentences, each once, with every category and matched span.

A press article is someone else's text. The report, the feeds and the
command line show only the sentences the flagger cited (and, once claims
exist, those that mention a claim), each cut to a quotation's length around
what matched — and never so many that the quotations add up to the article:
at most `MAX_QUOTES` sentences and a third of its words, the sentences with
the most categories first. Pure functions on the stored evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
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
           max_quotes: int = MAX_QUOTES) -> tuple[Quote, ...]:
    """The flagged sentences of stored evidence (``Evidence.to_json()`` items), each once, in text order; at
    most `max_quotes` of them and, when the article's length is given, no more than a third of its words
    (one sentence always)."""
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
    budget = article_words * MAX_SHARE_OF_WORDS if article_words else None
    chosen: set[int] = set()
    words = 0
    for position in sorted(range(len(found)), key=lambda i: (-len(found[i].categories), i)):
        length = len(found[position].sentence.split())
        if len(chosen) >= max_quotes or (chosen and budget is not None and words + length > budget):
            continue
        chosen.add(position)
        words += length
    return tuple(q for i, q in enumerate(found) if i in chosen)
