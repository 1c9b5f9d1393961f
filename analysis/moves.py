"""Paragraphs that moved: deleted in one place and inserted, identically or nearly, in another.

A line diff shows a moved paragraph as a deletion here and an insertion
there, and when it lands next to an edit, its words are interleaved with
the edit's. For reading, ``diff_with_moves`` finds such paragraphs and
shows them once as moved: a marker where the paragraph was, and the
paragraph where it went, with the words that changed on the way (a moved
paragraph with a small edit shows the edit).

Paragraphs are runs of non-blank lines, carrying the blank lines that
separate them from the next (or, at the end of a text, from the previous),
taken from the deleted and inserted lines of the line alignment that
``analysis.diff.diff_texts`` makes. A deleted and an inserted paragraph are
one move when unchanged text lies between where it was and where it went
(some unchanged non-blank line precedes it on one side and follows it on the
other; otherwise it was edited where it stands, and the word diff shows that
there) and

- their words are the same once case, whitespace and punctuation are
  ignored, and there are at least ``MIN_WORDS`` of them; or
- both have at least ``NEAR_MIN_WORDS`` words and their word sequences are
  at least ``NEAR_RATIO`` alike (difflib's ratio), the nearest pairs first.

Moved paragraphs are then left out of both texts, the rest is aligned again
(so what surrounded them lines up), and each move is put back where it was
on each side. Nothing here changes ``diff_texts``, whose counts are the
stored facts of a change: this is a way of showing the same two texts.

Bounded: paragraphs are matched through a dictionary; near matches are only
looked for when there are at most ``NEAR_PAIRS_LIMIT`` pairs of unmatched
paragraphs, each pair filtered by length and word-set overlap, and difflib
compares at most ``NEAR_COMPARISONS`` of them (the most alike first); the
alignments are ``analysis.sequence.opcodes``'s.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal, Union

from analysis.diff import Diff, Segment, diff_texts
from analysis.sequence import opcodes

MIN_WORDS = 4
NEAR_MIN_WORDS = 8
NEAR_RATIO = 0.75
# Pairs of unmatched deleted × inserted paragraphs beyond which only moves without edits are looked for.
NEAR_PAIRS_LIMIT = 40_000
# Word-set overlap (Jaccard) below which a pair is not worth difflib's comparison.
_NEAR_JACCARD = 0.5
# Pairs compared by difflib at most, those with the most words in common first.
NEAR_COMPARISONS = 2_000

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Paragraph:
    """Lines ``start``..``end`` (0-based, end excluded) of one side: the paragraph and its separating blank lines."""

    start: int
    end: int
    text: int  # its first non-blank line
    gap: int  # how many unchanged non-blank lines of its side come before it
    words: tuple[str, ...]

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.words)


@dataclass(frozen=True)
class Move:
    """A paragraph deleted at ``old`` (lines of the old text) and inserted at ``new`` (lines of the new text).

    The ranges are 0-based, end excluded, blank lines around the paragraph
    included; ``old_line`` and ``new_line`` are its first lines of text, 1-based.
    """

    old: tuple[int, int]
    new: tuple[int, int]
    exact: bool  # the same words (case, whitespace and punctuation aside)
    old_line: int
    new_line: int


@dataclass(frozen=True)
class Moved:
    """One end of a move in the diff shown.

    ``side`` "old": where the paragraph was, ``text`` its old wording;
    ``side`` "new": where it went, ``text`` its new wording and ``segments``
    the word diff from the old wording (all ``equal`` when only spacing changed).
    ``line`` is the 1-based line of the other end, in the other version.
    """

    id: int
    side: Literal["old", "new"]
    text: str
    segments: tuple[Segment, ...]
    exact: bool
    line: int

    op = "moved"

    @property
    def edited(self) -> bool:
        """Whether its words changed on the way; spacing alone is no edit."""
        return any(s.op != "equal" and s.text.strip() for s in self.segments)


Item = Union[Segment, Moved]


@dataclass(frozen=True)
class MovedDiff:
    items: tuple[Item, ...]
    moves: int
    plain: Diff  # the same two texts without moves (``diff_texts``): its counts are a change's stored ones

    @property
    def changed(self) -> bool:
        return self.moves > 0 or any(i.op != "equal" for i in self.items)


def _is_blank(line: object) -> bool:
    return isinstance(line, str) and not line.strip()


def _words(lines: list[str]) -> tuple[str, ...]:
    return tuple(_WORD.findall("".join(lines).casefold()))


def paragraphs(lines: list[str], start: int, end: int, gap: int) -> list[Paragraph]:
    """The paragraphs of lines ``start``..``end``: runs of non-blank lines with the blank lines after them.

    Blank lines before the first run stay out (they separate it from what
    precedes the stretch), unless the stretch ends the text: then the last
    run takes the blank lines before it, so that leaving it out leaves one
    separator, not two.
    """
    found: list[Paragraph] = []
    index = start
    while index < end:
        if _is_blank(lines[index]):
            index += 1
            continue
        first = index
        while index < end and not _is_blank(lines[index]):
            index += 1
        text_end = index
        while index < end and _is_blank(lines[index]):
            index += 1
        found.append(Paragraph(first, index, first, gap, _words(lines[first:text_end])))
    if found and found[-1].end == len(lines) == end:
        last = found[-1]
        lead = last.start
        floor = found[-2].end if len(found) > 1 else start
        while lead > floor and _is_blank(lines[lead - 1]):
            lead -= 1
        if lead < last.start and lead > 0:
            found[-1] = Paragraph(lead, last.end, last.text, last.gap, last.words)
    return found


def _overlap(a: Paragraph, b: Paragraph) -> float:
    """Word-set overlap (Jaccard) of two paragraphs long and alike enough to be compared, else 0."""
    if min(len(a.words), len(b.words)) < NEAR_RATIO * max(len(a.words), len(b.words)):
        return 0.0
    sa, sb = a.vocabulary, b.vocabulary
    shared = len(sa & sb)
    overlap = shared / (len(sa) + len(sb) - shared)
    return overlap if overlap >= _NEAR_JACCARD else 0.0


def find_moves(old_lines: list[str], new_lines: list[str]) -> list[Move]:
    """The moved paragraphs between two texts given as lines (with their line ends), in the new text's order."""
    steps = opcodes(old_lines, new_lines, autojunk=True, junk_allowed=_is_blank)
    removed: list[Paragraph] = []
    added: list[Paragraph] = []
    anchors = 0  # unchanged non-blank lines so far: both sides have the same number before each block
    for tag, i1, i2, j1, j2 in steps:
        if tag == "equal":
            anchors += sum(1 for line in old_lines[i1:i2] if not _is_blank(line))
            continue
        if tag in ("delete", "replace"):
            removed += paragraphs(old_lines, i1, i2, anchors)
        if tag in ("insert", "replace"):
            added += paragraphs(new_lines, j1, j2, anchors)
    pairs: dict[int, tuple[int, bool]] = {}  # index in added → (index in removed, exact)
    by_words: dict[tuple[str, ...], list[int]] = {}
    for index, para in enumerate(removed):
        if len(para.words) >= MIN_WORDS:
            by_words.setdefault(para.words, []).append(index)
    taken: set[int] = set()
    for index, para in enumerate(added):
        candidates = [i for i in by_words.get(para.words, ()) if i not in taken and removed[i].gap != para.gap]
        if candidates:
            pairs[index] = (candidates[0], True)
            taken.add(candidates[0])
    left_old = [i for i, p in enumerate(removed) if i not in taken and len(p.words) >= NEAR_MIN_WORDS]
    left_new = [i for i, p in enumerate(added) if i not in pairs and len(p.words) >= NEAR_MIN_WORDS]
    if left_old and left_new and len(left_old) * len(left_new) <= NEAR_PAIRS_LIMIT:
        overlapping = []
        for j in left_new:
            for i in left_old:
                if removed[i].gap != added[j].gap:
                    overlap = _overlap(removed[i], added[j])
                    if overlap:
                        overlapping.append((-overlap, j, i))
        scored = []
        for _, j, i in sorted(overlapping)[:NEAR_COMPARISONS]:
            ratio = SequenceMatcher(None, removed[i].words, added[j].words, autojunk=False).ratio()
            if ratio >= NEAR_RATIO:
                scored.append((-ratio, j, i))
        for _, j, i in sorted(scored):
            if j not in pairs and i not in taken:
                pairs[j] = (i, False)
                taken.add(i)
    moves = []
    for j in sorted(pairs):
        i, exact = pairs[j]
        moves.append(Move((removed[i].start, removed[i].end), (added[j].start, added[j].end), exact,
                          removed[i].text + 1, added[j].text + 1))
    return moves


def diff_with_moves(old: str, new: str) -> MovedDiff:
    """The word diff of two texts with moved paragraphs shown as moves.

    Joining the ``equal`` and ``delete`` segments and the old ends of moves
    gives ``old``; joining the ``equal`` and ``insert`` segments and the new
    ends of moves gives ``new``.
    """
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    moves = find_moves(old_lines, new_lines)
    plain = diff_texts(old, new)
    if not moves:
        return MovedDiff(plain.segments, 0, plain)
    # Each move is numbered in the new text's order; at each side it is anchored
    # before the first line, of what is left of that side, that follows it.
    old_at: dict[int, list[Moved]] = {}
    new_at: dict[int, list[Moved]] = {}
    old_moved = [False] * len(old_lines)
    new_moved = [False] * len(new_lines)
    for number, move in enumerate(moves, 1):
        (o1, o2), (n1, n2) = move.old, move.new
        old_text, new_text = "".join(old_lines[o1:o2]), "".join(new_lines[n1:n2])
        inner = _edit(old_lines[o1:o2], new_lines[n1:n2])
        old_at.setdefault(o1, []).append(Moved(number, "old", old_text, (Segment("delete", old_text),), move.exact, move.new_line))
        new_at.setdefault(n1, []).append(Moved(number, "new", new_text, inner, move.exact, move.old_line))
        old_moved[o1:o2] = [True] * (o2 - o1)
        new_moved[n1:n2] = [True] * (n2 - n1)
    old_kept = [i for i, moved in enumerate(old_moved) if not moved]
    new_kept = [j for j, moved in enumerate(new_moved) if not moved]
    a = [old_lines[i] for i in old_kept]
    b = [new_lines[j] for j in new_kept]
    # Where, in the lines left, each move's ends go: before the first kept line after the move.
    old_anchor = _anchors(old_at, old_kept)
    new_anchor = _anchors(new_at, new_kept)
    out: list[Item] = []
    for tag, i1, i2, j1, j2 in opcodes(a, b, autojunk=True, junk_allowed=_is_blank):
        if tag == "equal":
            for offset in range(i2 - i1):
                _put(out, old_anchor.pop(i1 + offset, []), new_anchor.pop(j1 + offset, []))
                out.append(Segment("equal", b[j1 + offset]))
            continue
        # An edited stretch with moves inside is cut where they are on each side; its pieces are
        # diffed in pairs, so each side reads in its order with its moves in place.
        old_pieces = _cut(a, i1, i2, old_anchor)
        new_pieces = _cut(b, j1, j2, new_anchor)
        for index in range(max(len(old_pieces), len(new_pieces))):
            old_ends, old_piece = old_pieces[index] if index < len(old_pieces) else ([], "")
            new_ends, new_piece = new_pieces[index] if index < len(new_pieces) else ([], "")
            _put(out, old_ends, new_ends)
            out.extend(diff_texts(old_piece, new_piece).segments)
    _put(out, [m for k in sorted(old_anchor) for m in old_anchor[k]], [m for k in sorted(new_anchor) for m in new_anchor[k]])
    return MovedDiff(_merge(out), len(moves), plain)


def _edit(old_lines: list[str], new_lines: list[str]) -> tuple[Segment, ...]:
    """The new wording of a moved paragraph with its edit; the blank lines around it are no part of the edit."""
    lead, core, trail = _blank_ends(new_lines)
    _, old_core, _ = _blank_ends(old_lines)
    segments = [Segment("equal", lead), *diff_texts(old_core, core).segments, Segment("equal", trail)]
    return tuple(s for s in segments if s.text)


def _blank_ends(lines: list[str]) -> tuple[str, str, str]:
    first = 0
    while first < len(lines) and _is_blank(lines[first]):
        first += 1
    last = len(lines)
    while last > first and _is_blank(lines[last - 1]):
        last -= 1
    return "".join(lines[:first]), "".join(lines[first:last]), "".join(lines[last:])


def _anchors(at: dict[int, list[Moved]], kept: list[int]) -> dict[int, list[Moved]]:
    anchors: dict[int, list[Moved]] = {}
    for line in sorted(at):
        anchors.setdefault(bisect_left(kept, line), []).extend(at[line])
    return anchors


def _cut(lines: list[str], start: int, end: int, anchors: dict[int, list[Moved]]) -> list[tuple[list[Moved], str]]:
    """Lines ``start``..``end`` cut before each anchored move: (the moves anchored there, the text up to the next)."""
    pieces: list[tuple[list[Moved], str]] = []
    ends: list[Moved] = anchors.pop(start, [])
    first = start
    for index in range(start + 1, end):
        if index in anchors:
            pieces.append((ends, "".join(lines[first:index])))
            ends, first = anchors.pop(index), index
    pieces.append((ends, "".join(lines[first:end])))
    return pieces


def _put(out: list[Item], old_ends: list[Moved], new_ends: list[Moved]) -> None:
    out.extend(old_ends)
    out.extend(new_ends)


def _merge(items: list[Item]) -> tuple[Item, ...]:
    # Runs are joined once: adding lines one at a time would be quadratic in a long text.
    merged: list[Item] = []
    run: list[str] = []
    op = ""
    for item in items:
        if isinstance(item, Segment) and not item.text:
            continue
        if isinstance(item, Segment) and item.op == op:
            run.append(item.text)
            continue
        if run:
            merged.append(Segment(op, "".join(run)))  # type: ignore[arg-type]
        run, op = ([item.text], item.op) if isinstance(item, Segment) else ([], "")
        if isinstance(item, Moved):
            merged.append(item)
    if run:
        merged.append(Segment(op, "".join(run)))  # type: ignore[arg-type]
    return tuple(merged)
