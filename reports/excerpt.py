"""The few changed sentences a feed entry quotes.

A reader deciding whether to open a change wants the sentences whose wording
moved most, shown with the words that changed, not the whole diff. Sentences
the flagger cited as evidence come first; the rest are ranked by how many of
their words changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

from analysis.diff import Diff, count_words

from reports.diffview import Piece

MAX_SENTENCES = 4
MAX_CHARS = 320

# A sentence ends at . ! ? followed by space, or at a line break (Markdown
# headings, list items and table rows have no full stop).
_BOUNDARY = re.compile(r"(?<=[.!?])[ \t]+|\n+")


@dataclass(frozen=True)
class Sentence:
    side: Literal["new", "old"]
    pieces: tuple[Piece, ...]
    changed_words: int
    position: int
    cited: bool = False

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


def _side_sentences(diff: Diff, side: Literal["new", "old"]) -> list[Sentence]:
    """Split one side of the diff into sentences, keeping which words changed."""
    mark = "insert" if side == "new" else "delete"
    sentences: list[Sentence] = []
    current: list[Piece] = []
    position = 0

    def close() -> None:
        nonlocal current, position
        pieces = tuple(p for p in current if p.text)
        changed = sum(count_words(p.text) for p in pieces if p.op == mark)
        if changed and "".join(p.text for p in pieces).strip():
            sentences.append(Sentence(side, pieces, changed, position))
        position += 1
        current = []

    for seg in diff.segments:
        if seg.op not in ("equal", mark):
            continue
        start = 0
        for boundary in _BOUNDARY.finditer(seg.text):
            current.append(Piece(seg.op, seg.text[start:boundary.start()]))
            close()
            start = boundary.end()
        current.append(Piece(seg.op, seg.text[start:]))
    close()
    return sentences


def _last(text: str, chars: int) -> str:
    """The end of `text`, about `chars` long, starting at a word: a quotation never opens inside one."""
    part = text[-chars:]
    if not text[-chars - 1].isspace() and " " in part.strip():
        part = part[part.index(" ", len(part) - len(part.lstrip())):]
    return part.lstrip()


def _first(text: str, chars: int) -> str:
    """The start of `text`, at most `chars` long, ending at a word where one ends within it."""
    part = text[:chars]
    if not text[chars].isspace() and " " in part.strip():
        part = part[:part.rstrip().rindex(" ")]
    return part.rstrip()


def _trim(sentence: Sentence) -> Sentence:
    """Shorten a long sentence around its first change, keeping the changed words and whole words."""
    if len(sentence.text) <= MAX_CHARS:
        return sentence
    pieces = list(sentence.pieces)
    first = next(i for i, p in enumerate(pieces) if p.op != "equal")
    if first > 0 and len(pieces[first - 1].text) > 60:
        pieces[first - 1] = Piece("equal", "… " + _last(pieces[first - 1].text, 60))
    out: list[Piece] = []
    used = 0
    for piece in pieces:
        room = MAX_CHARS - used
        if room <= 0:
            out.append(Piece("equal", " …"))
            break
        text = piece.text if len(piece.text) <= room else _first(piece.text, room) + " …"
        out.append(Piece(piece.op, text))
        used += len(text)
    return Sentence(sentence.side, tuple(out), sentence.changed_words, sentence.position, sentence.cited)


def important_sentences(diff: Diff, cited: Iterable[str] = (), limit: int = MAX_SENTENCES) -> list[Sentence]:
    """Up to `limit` changed sentences, new wording before removed wording, each side in document order."""
    cited_texts = {" ".join(c.split()) for c in cited if c}
    candidates = []
    for sentence in _side_sentences(diff, "new") + _side_sentences(diff, "old"):
        plain = " ".join(sentence.text.split())
        is_cited = any(c in plain or (len(plain) > 20 and plain in c) for c in cited_texts)
        candidates.append(Sentence(sentence.side, sentence.pieces, sentence.changed_words, sentence.position,
                                   is_cited))
    ranked = sorted(candidates, key=lambda s: (not s.cited, -s.changed_words, s.side != "new", s.position))
    chosen = ranked[:limit]
    chosen.sort(key=lambda s: (s.side != "new", s.position))
    return [_trim(s) for s in chosen]
