"""Two views of one word diff for the change page: inline and side by side.

Both fold unchanged stretches longer than a few lines, keeping `context` lines
next to each change, so a one-word edit in an 8,000-word policy reads as a
few lines, while the folded text stays in the page for readers who open it.
A moved paragraph (``analysis.moves``) is shown once where it went, with
its edit if any, and marked where it was, each end linking to the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from analysis.diff import Diff, Op, Segment
from analysis.moves import Moved, MovedDiff

DEFAULT_CONTEXT = 3


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


@dataclass(frozen=True)
class Shown:
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Folded:
    text: str
    lines: int


@dataclass(frozen=True)
class MoveEnd:
    """One end of a moved paragraph: ``side`` "old" is where it was, "new" where it went.

    ``other``: the line of the other end in the other version; ``later``:
    whether the other end comes later in the diff; ``edited``: whether its
    words changed on the way.
    """

    id: int
    side: str
    other: int
    later: bool
    edited: bool


@dataclass(frozen=True)
class MovedBlock:
    end: MoveEnd
    pieces: tuple[Piece, ...]


InlineBlock = Union[Shown, Folded, MovedBlock]


def _items(diff: Diff | MovedDiff) -> tuple[Segment | Moved, ...]:
    return diff.items if isinstance(diff, MovedDiff) else diff.segments


def _ends(items: tuple[Segment | Moved, ...]) -> dict[tuple[int, str], MoveEnd]:
    seen: set[int] = set()
    ends = {}
    for item in items:
        if isinstance(item, Moved):
            ends[(item.id, item.side)] = MoveEnd(item.id, item.side, item.line, item.id not in seen, item.edited)
            seen.add(item.id)
    return ends


def _move_pieces(item: Moved) -> tuple[Piece, ...]:
    # Where it went: its words, with the edit made on the way; where it was: its old words, unmarked.
    if item.side == "new":
        return tuple(Piece(s.op, s.text) for s in item.segments)
    return (Piece("equal", item.text),)


def _fold_bounds(lines: int, first: bool, last: bool, head_partial: bool, context: int) -> tuple[int, int] | None:
    """How many lines of an unchanged stretch to keep before and after its fold, or None to show it all."""
    head = 0 if first else context + (1 if head_partial else 0)
    tail = 0 if last else context + 1  # +1: the line the next change starts on
    if lines <= head + tail + 1:
        return None
    return head, tail


def inline_view(diff: Diff | MovedDiff, context: int = DEFAULT_CONTEXT) -> list[InlineBlock]:
    blocks: list[InlineBlock] = []
    shown: list[Piece] = []
    segments = _items(diff)
    ends = _ends(segments)
    if not diff.changed:
        return [Shown(tuple(Piece(s.op, s.text) for s in segments if isinstance(s, Segment)))] if segments else []
    for index, seg in enumerate(segments):
        if isinstance(seg, Moved):
            if shown:
                blocks.append(Shown(tuple(shown)))
                shown = []
            blocks.append(MovedBlock(ends[(seg.id, seg.side)], _move_pieces(seg)))
            continue
        if seg.op != "equal":
            shown.append(Piece(seg.op, seg.text))
            continue
        lines = seg.text.splitlines(keepends=True)
        first, last = index == 0, index == len(segments) - 1
        head_partial = not first and not segments[index - 1].text.endswith("\n")
        bounds = _fold_bounds(len(lines), first, last, head_partial, context)
        if bounds is None:
            shown.append(Piece("equal", seg.text))
            continue
        head, tail = bounds
        tail_start = len(lines) - tail
        if head:
            shown.append(Piece("equal", "".join(lines[:head])))
        if shown:
            blocks.append(Shown(tuple(shown)))
            shown = []
        blocks.append(Folded("".join(lines[head:tail_start]), tail_start - head))
        if tail:
            shown.append(Piece("equal", "".join(lines[tail_start:])))
    if shown:
        blocks.append(Shown(tuple(shown)))
    return blocks


@dataclass(frozen=True)
class Row:
    old_number: int | None
    old: tuple[Piece, ...]
    new_number: int | None
    new: tuple[Piece, ...]
    move: MoveEnd | None = None  # set on the first row of a moved paragraph's end
    moved: bool = False  # a row of a moved paragraph

    @property
    def changed(self) -> bool:
        return (self.moved or any(p.op != "equal" for p in self.old + self.new) or self.old_number is None
                or self.new_number is None)


@dataclass(frozen=True)
class FoldRow:
    lines: int


SideRow = Union[Row, FoldRow]


class _Sides:
    """Lines of both sides under construction; rows are paired up at every line break both sides share."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.old_block: list[tuple[Piece, ...]] = []
        self.new_block: list[tuple[Piece, ...]] = []
        self.old_line: list[Piece] = []
        self.new_line: list[Piece] = []
        self.old_no = self.new_no = 0

    def add(self, side: Literal["old", "new", "both"], op: Op, text: str) -> None:
        for part in text.splitlines(keepends=True):
            ends = part.endswith("\n")
            body = part[:-1] if ends else part
            if side == "both" and not self.old_line and not self.new_line:
                self.flush()  # an unchanged line starting on both sides ends any changed block
            if side in ("old", "both") and body:
                self.old_line.append(Piece(op, body))
            if side in ("new", "both") and body:
                self.new_line.append(Piece(op, body))
            if not ends:
                continue
            if side in ("old", "both"):
                self.old_block.append(tuple(self.old_line))
                self.old_line = []
            if side in ("new", "both"):
                self.new_block.append(tuple(self.new_line))
                self.new_line = []
            if side == "both":
                self.flush()

    def flush(self) -> None:
        for index in range(max(len(self.old_block), len(self.new_block))):
            old = self.old_block[index] if index < len(self.old_block) else None
            new = self.new_block[index] if index < len(self.new_block) else None
            if old is not None:
                self.old_no += 1
            if new is not None:
                self.new_no += 1
            self.rows.append(Row(self.old_no if old is not None else None, old or (),
                                 self.new_no if new is not None else None, new or ()))
        self.old_block, self.new_block = [], []

    def moved(self, end: MoveEnd, pieces: tuple[Piece, ...]) -> None:
        """A moved paragraph's lines, on its side only; it starts and ends at line breaks of both sides."""
        self.finish()
        lines: list[list[Piece]] = [[]]
        for piece in pieces:
            for part in piece.text.splitlines(keepends=True):
                body = part[:-1] if part.endswith("\n") else part
                if body:
                    lines[-1].append(Piece(piece.op, body))
                if part.endswith("\n"):
                    lines.append([])
        if not lines[-1]:
            lines.pop()
        for index, line in enumerate(lines):
            first = end if index == 0 else None
            if end.side == "old":
                self.old_no += 1
                self.rows.append(Row(self.old_no, tuple(line), None, (), first, True))
            else:
                self.new_no += 1
                self.rows.append(Row(None, (), self.new_no, tuple(line), first, True))

    def finish(self) -> list[Row]:
        if self.old_line:
            self.old_block.append(tuple(self.old_line))
        if self.new_line:
            self.new_block.append(tuple(self.new_line))
        self.old_line, self.new_line = [], []
        self.flush()
        return self.rows


def _rows(segments: tuple[Segment | Moved, ...]) -> list[Row]:
    sides = _Sides()
    ends = _ends(segments)
    for seg in segments:
        if isinstance(seg, Moved):
            sides.moved(ends[(seg.id, seg.side)], _move_pieces(seg))
            continue
        sides.add("both" if seg.op == "equal" else ("old" if seg.op == "delete" else "new"), seg.op, seg.text)
    return sides.finish()


def side_by_side(diff: Diff | MovedDiff, context: int = DEFAULT_CONTEXT) -> list[SideRow]:
    rows = _rows(_items(diff))
    changed = [i for i, row in enumerate(rows) if row.changed]
    if not changed:
        return list(rows)
    keep = [False] * len(rows)
    for i in changed:
        for j in range(max(0, i - context), min(len(rows), i + context + 1)):
            keep[j] = True
    result: list[SideRow] = []
    index = 0
    while index < len(rows):
        if keep[index]:
            result.append(rows[index])
            index += 1
            continue
        end = index
        while end < len(rows) and not keep[end]:
            end += 1
        if end - index == 1:
            result.append(rows[index])  # folding a single line saves nothing
        else:
            result.append(FoldRow(end - index))
        index = end
    return result
