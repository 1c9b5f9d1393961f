"""Word-level diff of two versions: line alignment first, words inside changed blocks.

Whole-document word-level SequenceMatcher costs 23-145 ms on a real policy and
difflib.HtmlDiff takes seconds on a rewrite, so the work is split: difflib aligns
lines (cheap, few items), and only the lines inside a replaced block are diffed
word by word. A replaced block too large for difflib's word diff (a long
paragraph, a complete rewrite) is diffed by the bounded search for a smallest
edit (``analysis.sequence``): one changed word in a 1 MB paragraph is one word,
and a rewrite beyond the search's budget is one deletion and one insertion
between the words both versions share at the start and end. Repetitive text
(lines that recur, which difflib's heuristics refuse to anchor on) is aligned
the same way, so its diff is the real edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from analysis.sequence import opcodes, smallest_edit_opcodes

Op = Literal["equal", "insert", "delete"]

# Product of word counts above which a replaced block is not diffed by difflib (whose cost grows with it).
WORD_DIFF_LIMIT = 4_000_000

# Scripts written without spaces between words (Han, kana): each character
# counts as a word and is diffed on its own, so a 20,000-character Chinese
# policy counts about 20,000 words, not the few hundred runs between spaces
# and punctuation.
_UNSPACED = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Their punctuation (、。「」, full-width ！（），：；？) is a token of its own but no word.
_UNSPACED_PUNCTUATION = "\u3000-\u303f\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"
_PLAIN_TOKEN = re.compile(
    rf"[{_UNSPACED}{_UNSPACED_PUNCTUATION}]\s*|[^\s{_UNSPACED}{_UNSPACED_PUNCTUATION}]+\s*|\s+"
)
_WORD = re.compile(rf"[{_UNSPACED}]|[^\s{_UNSPACED}{_UNSPACED_PUNCTUATION}]+")
# A run with no letter or digit in it is Markdown's markup or punctuation (`#`, `|`, `---`, `-`, `•`, `—`), which
# a word count leaves out: a table's pipes or a rule added are no words. Matched as whole runs only.
_NOT_A_WORD = re.compile(rf"(?<![^\s{_UNSPACED}{_UNSPACED_PUNCTUATION}])(?:[^\w\s{_UNSPACED_PUNCTUATION}]|_)+"
                         rf"(?![^\s{_UNSPACED}{_UNSPACED_PUNCTUATION}])")
# A `<br>` tag in Markdown (imported Markdown writes line breaks inside table cells so, as Open Terms Archive's
# does) is spacing, as a line break is: never a word, never part of one, so a cell whose items went from one line
# to several counts no words changed. A text without one is tokenised by the plain expression, which is faster
# and reads it the same.
_BR_TAG = re.compile(r"<(?i:br)\s*/?>")
_SPACING = r"(?:\s|<(?i:br)\s*/?>)"
_TAGGED_TOKEN = re.compile(
    rf"[{_UNSPACED}{_UNSPACED_PUNCTUATION}]{_SPACING}*"
    rf"|(?:[^\s<{_UNSPACED}{_UNSPACED_PUNCTUATION}]|<(?!(?i:br)\s*/?>))+{_SPACING}*|{_SPACING}+"
)
_TRAILING_SPACING = re.compile(rf"{_SPACING}+\Z")
_ONLY_SPACING = re.compile(rf"{_SPACING}*")


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass(frozen=True)
class Diff:
    segments: tuple[Segment, ...]
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int

    @property
    def changed(self) -> bool:
        return any(s.op != "equal" for s in self.segments)


def count_words(text: str) -> int:
    """Words separated by spaces, plus one per character of a script written without spaces (Han, kana); a run
    without a letter or digit (markup, a dash) is none."""
    if "<" in text:
        text = _BR_TAG.sub(" ", text)
    return len(_WORD.findall(text)) - len(_NOT_A_WORD.findall(text))


def is_spacing(text: str) -> bool:
    """Whether ``text`` is only spacing (white space, line breaks, `<br>` tags): what a diff never marks."""
    if "<" not in text:
        return not text.strip()
    return _ONLY_SPACING.fullmatch(text) is not None


def _tokens(text: str) -> list[str]:
    return (_TAGGED_TOKEN if _BR_TAG.search(text) else _PLAIN_TOKEN).findall(text)


def _key(token: str) -> str:
    # A word without its trailing spacing: spacing, line breaks included,
    # never turns a word into a change (see the `equal` branch of `_word_diff`).
    if "<" not in token:
        return token.rstrip()
    found = _TRAILING_SPACING.search(token)
    return token[:found.start()] if found is not None else token


def _word_diff(old: str, new: str, out: list[Segment]) -> None:
    a = _tokens(old)
    b = _tokens(new)
    a_keys, b_keys = [_key(t) for t in a], [_key(t) for t in b]
    if len(a) * len(b) <= WORD_DIFF_LIMIT:
        steps: list | None = SequenceMatcher(None, a_keys, b_keys, autojunk=False).get_opcodes()
    else:
        steps = smallest_edit_opcodes(a_keys, b_keys)
    if steps is None:
        # A rewrite too large to search: one deletion and one insertion.
        out.append(Segment("delete", old))
        out.append(Segment("insert", new))
        return
    for tag, i1, i2, j1, j2 in steps:
        if tag == "equal":
            if a[i1:i2] == b[j1:j2]:
                out.append(Segment("equal", "".join(b[j1:j2])))
                continue
            for x, y in zip(a[i1:i2], b[j1:j2]):
                if x == y:
                    out.append(Segment("equal", y))
                    continue
                # Same word, different spacing: only the spacing differs.
                word = _key(y)
                out.append(Segment("equal", word))
                out.append(Segment("delete", x[len(word):]))
                out.append(Segment("insert", y[len(word):]))
            continue
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        # A replaced run that ends in the same spacing on both sides keeps
        # that spacing unchanged, so only words are marked.
        ending = trailing_spacing(removed)
        shared = ending if tag == "replace" and ending == trailing_spacing(added) else ""
        if removed:
            out.append(Segment("delete", removed[:len(removed) - len(shared)]))
        if added:
            out.append(Segment("insert", added[:len(added) - len(shared)]))
        if shared:
            out.append(Segment("equal", shared))


def trailing_spacing(text: str) -> str:
    """The spacing ``text`` ends with (white space, line breaks, `<br>` tags)."""
    return text[len(_key(text)):]


def _is_blank(line: object) -> bool:
    return isinstance(line, str) and not line.strip()


def _merge(segments: list[Segment]) -> tuple[Segment, ...]:
    # Joined once per run: adding strings one at a time would be quadratic in a long paragraph.
    merged: list[Segment] = []
    run: list[str] = []
    op: Op | None = None
    for seg in segments:
        if not seg.text:
            continue
        if seg.op != op:
            if run:
                merged.append(Segment(op, "".join(run)))  # type: ignore[arg-type]
            run, op = [], seg.op
        run.append(seg.text)
    if run:
        merged.append(Segment(op, "".join(run)))  # type: ignore[arg-type]
    return tuple(merged)


def diff_texts(old: str, new: str) -> Diff:
    """Diff two texts into equal/insert/delete segments that rebuild both sides.

    Joining the `equal` and `delete` segments gives `old`; joining `equal` and
    `insert` gives `new`.
    """
    a_lines = old.splitlines(keepends=True)
    b_lines = new.splitlines(keepends=True)
    # autojunk keeps blank lines (the most common line) from anchoring the
    # alignment, which would make a rewrite quadratic in the number of paragraphs.
    steps = opcodes(a_lines, b_lines, autojunk=True, junk_allowed=_is_blank)
    out: list[Segment] = []
    words_added = words_removed = lines_added = lines_removed = 0
    for tag, i1, i2, j1, j2 in steps:
        old_block = "".join(a_lines[i1:i2])
        new_block = "".join(b_lines[j1:j2])
        if tag == "equal":
            out.append(Segment("equal", new_block))
            continue
        lines_removed += i2 - i1
        lines_added += j2 - j1
        if tag == "replace":
            _word_diff(old_block, new_block, out)
        else:
            out.append(Segment("delete", old_block))
            out.append(Segment("insert", new_block))
    segments = _merge(out)
    for seg in segments:
        if seg.op == "insert":
            words_added += count_words(seg.text)
        elif seg.op == "delete":
            words_removed += count_words(seg.text)
    return Diff(segments, words_added, words_removed, lines_added, lines_removed)


@dataclass(frozen=True)
class Hunk:
    """A stretch of the diff with changes and up to `context` lines around them."""

    segments: tuple[Segment, ...]
    skipped_before: int  # unchanged lines folded away before this hunk


def _spacing_change(segs: tuple[Segment, ...], index: int, step: int) -> bool:
    """Whether the change next to ``segs[index]`` (before it: ``step`` -1; after it: 1) is of spacing alone."""
    found = False
    at = index + step
    while 0 <= at < len(segs) and segs[at].op != "equal":
        if not is_spacing(segs[at].text):
            return False
        found, at = True, at + step
    return found


def hunks(diff: Diff, context: int = 2) -> list[Hunk]:
    """Group segments into hunks, folding unchanged stretches longer than 2×context lines."""
    result: list[Hunk] = []
    current: list[Segment] = []
    skipped = 0
    segs = diff.segments
    for index, seg in enumerate(segs):
        if seg.op != "equal":
            current.append(seg)
            continue
        lines = seg.text.splitlines(keepends=True)
        first, last = index == 0, index == len(segs) - 1
        # A stretch that starts or ends mid-line carries that partial line on
        # top of its context lines. Next to a change of spacing alone, which
        # shows nothing by itself, one line is kept even with no context asked.
        before = context or int(not first and _spacing_change(segs, index, -1))
        after = context or int(not last and _spacing_change(segs, index, 1))
        head_n = 0 if first else before + (0 if segs[index - 1].text.endswith("\n") else 1)
        tail_n = 0 if last else after + (0 if seg.text.endswith("\n") else 1)
        if len(lines) <= head_n + tail_n + 1 and not (first or last):
            current.append(seg)
            continue
        head = lines[:head_n]
        tail = lines[len(lines) - tail_n:] if tail_n else []
        if head:
            current.append(Segment("equal", "".join(head)))
        if current:
            result.append(Hunk(tuple(current), skipped))
            current = []
        skipped = max(0, len(lines) - len(head) - len(tail))
        if tail:
            current.append(Segment("equal", "".join(tail)))
    if any(s.op != "equal" for s in current):
        result.append(Hunk(tuple(current), skipped))
    return [h for h in result if any(s.op != "equal" for s in h.segments)]
