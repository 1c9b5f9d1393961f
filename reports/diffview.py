"""Two views of one word diff for the change page: inline and side by side.

Both fold unchanged stretches longer than a few lines, keeping `context` lines
next to each change, so a one-word edit in an 8,000-word policy reads as a
few lines, while the folded text stays in the page for readers who open it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from analysis.diff import Diff, Op, Segment

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


InlineBlock = Union[Shown, Folded]


def _fold_bounds(lines: int, first: bool, last: bool, head_partial: bool, context: int) -> tuple[int, int] | None:
    """How many lines of an unchanged stretch to keep before and after its fold, or None to show it all."""
    head = 0 if first else context + (1 if head_partial else 0)
    tail = 0 if last else context + 1  # +1: the line the next change starts on
    if lines <= head + tail + 1:
        return None
    return head, tail


def inline_view(diff: Diff, context: int = DEFAULT_CONTEXT) -> list[InlineBlock]:
    blocks: list[InlineBlock] = []
    shown: list[Piece] = []
    segments = diff.segments
    if not diff.changed:
        return [Shown(tuple(Piece(s.op, s.text) for s in segments))] if segments else []
    for index, seg in enumerate(segments):
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

    @property
    def changed(self) -> bool:
        return any(p.op != "equal" for p in self.old + self.new) or self.old_number is None or self.new_number is None


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

    def finish(self) -> list[Row]:
        if self.old_line:
            self.old_block.append(tuple(self.old_line))
        if self.new_line:
            self.new_block.append(tuple(self.new_line))
        self.old_line, self.new_line = [], []
        self.flush()
        return self.rows


def _rows(segments: tuple[Segment, ...]) -> list[Row]:
    sides = _Sides()
    for seg in segments:
        sides.add("both" if seg.op == "equal" else ("old" if seg.op == "delete" else "new"), seg.op, seg.text)
    return sides.finish()


def side_by_side(diff: Diff, context: int = DEFAULT_CONTEXT) -> list[SideRow]:
    rows = _rows(diff.segments)
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
