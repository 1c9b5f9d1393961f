"""Matching two sequences (lines, words, sentences) in bounded time, with a diff whose size is the real edit.

difflib's SequenceMatcher aligns by repeatedly taking the longest matching
block. Its work grows with the number of pairs of equal items, so it is
quadratic on repetitive text (20,000 identical sentences are 4·10⁸ pairs),
and its "autojunk" heuristic, which keeps blank lines from anchoring an
alignment, also refuses to anchor on any repeated line: ten thousand lines of
"Yes." / "No." / "Maybe." with one line changed came out as five thousand
lines replaced.

``opcodes`` therefore uses difflib as before where that is cheap and sound
(every real policy text: the same result as ever), and otherwise the
difference algorithm of Myers (1986), whose cost grows with the size of the
edit rather than with repetition: a common head and tail are set aside, and
the smallest edit of the rest is searched within a step budget. Past the
budget (large edits of repetitive text) the middle is one replaced block,
which bounds the cost.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from difflib import SequenceMatcher

Opcode = tuple[str, int, int, int, int]

# Pairs of equal items beyond which difflib is not used (about 0.3 s of its inner loop).
PAIRS_LIMIT = 1_000_000
# Steps (diagonals tried and items compared) the edit search may take before giving up; it also bounds
# the edits searched (d·(d+1)/2 diagonals for d edits), and with them the trace kept, to about 1,400.
EDIT_STEPS_LIMIT = 1_000_000


def _difflib_is_sound(matcher: SequenceMatcher, a: Sequence[Hashable],
                      junk_allowed: Callable[[Hashable], bool] | None) -> bool:
    # Items dropped as "popular" may only be ones the caller does not mind (blank lines).
    if matcher.bpopular and (junk_allowed is None or not all(junk_allowed(x) for x in matcher.bpopular)):
        return False
    b2j = matcher.b2j
    pairs = 0
    for item, count in Counter(a).items():
        pairs += count * len(b2j.get(item, ()))
        if pairs > PAIRS_LIMIT:
            return False
    return True


def opcodes(a: Sequence[Hashable], b: Sequence[Hashable], *, autojunk: bool = False,
            junk_allowed: Callable[[Hashable], bool] | None = None) -> list[Opcode]:
    """Opcodes turning ``a`` into ``b``, in difflib's format (tag, i1, i2, j1, j2).

    ``autojunk`` and ``junk_allowed``: difflib's junk heuristic is used only
    when everything it drops satisfies ``junk_allowed``.
    """
    matcher = SequenceMatcher(None, a, b, autojunk=autojunk)
    if _difflib_is_sound(matcher, a, junk_allowed):
        return matcher.get_opcodes()
    return edit_opcodes(a, b)


def edit_opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """Opcodes of a smallest edit from ``a`` to ``b``, or, when none is found within ``EDIT_STEPS_LIMIT``,
    of the common head and tail with one replaced block between them."""
    return smallest_edit_opcodes(a, b, or_replace=True)  # type: ignore[return-value]


def smallest_edit_opcodes(a: Sequence[Hashable], b: Sequence[Hashable], or_replace: bool = False) -> list[Opcode] | None:
    """Opcodes of a smallest edit from ``a`` to ``b``; None when none is found within ``EDIT_STEPS_LIMIT``
    steps (unless ``or_replace``: then the common head and tail with one replaced block between them)."""
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    middle_a, middle_b = a[head:n - tail], b[head:m - tail]
    found = _smallest_edit(middle_a, middle_b, EDIT_STEPS_LIMIT)
    if found is None:
        if not or_replace:
            return None
        found = [(0, 0, 0)]
    blocks = [(0, 0, head)] if head else []
    blocks += [(i + head, j + head, size) for i, j, size in found if size]
    if tail:
        blocks.append((n - tail, m - tail, tail))
    return _to_opcodes(blocks, n, m)


def _to_opcodes(blocks: list[tuple[int, int, int]], n: int, m: int) -> list[Opcode]:
    result: list[Opcode] = []
    i = j = 0
    for bi, bj, size in blocks + [(n, m, 0)]:
        tag = "replace" if i < bi and j < bj else "delete" if i < bi else "insert" if j < bj else ""
        if tag:
            result.append((tag, i, bi, j, bj))
        if size:
            result.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return result


def _smallest_edit(a: Sequence[Hashable], b: Sequence[Hashable], steps: int) -> list[tuple[int, int, int]] | None:
    """Matching blocks (i, j, size) of a smallest edit script (Myers' greedy O(ND) search), or None when the
    search needs more than ``steps``."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    # At least this many items differ, however they are aligned; the search would need d·(d+1)/2 steps.
    at_least = n + m - 2 * sum((Counter(a) & Counter(b)).values())
    if at_least * (at_least + 1) // 2 > steps:
        return None
    ids: dict[Hashable, int] = {}
    xa = [ids.setdefault(item, len(ids)) for item in a]
    xb = [ids.get(item, -1) for item in b]
    offset = n + m + 1
    frontier = [0] * (2 * offset + 1)
    trace: list[array[int]] = []
    spent = 0
    for d in range(n + m + 1):
        trace.append(array("q", frontier[offset - d - 1:offset + d + 2]))
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and frontier[offset + k - 1] < frontier[offset + k + 1]):
                x = frontier[offset + k + 1]
            else:
                x = frontier[offset + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and xa[x] == xb[y]:
                x += 1
                y += 1
            spent += 1 + x - start
            frontier[offset + k] = x
            if x >= n and y >= m:
                return _blocks_from_trace(trace, d, k, n, m)
        if spent > steps:
            return None
    return None


def _blocks_from_trace(trace: list[array[int]], d: int, k: int, n: int, m: int) -> list[tuple[int, int, int]]:
    """The matching blocks of the path the search found, walking its trace back from (n, m)."""
    blocks: list[tuple[int, int, int]] = []
    x, y = n, m
    while d > 0:
        row = trace[d]  # frontier[offset - d - 1 : offset + d + 2], so diagonal k is at index k + d + 1
        if k == -d or (k != d and row[k - 1 + d + 1] < row[k + 1 + d + 1]):
            previous_k = k + 1
            start_x = row[previous_k + d + 1]
            start_y = start_x - previous_k
            # an insertion: (start_x, start_y) -> (start_x, start_y + 1)
            snake_x, snake_y = start_x, start_y + 1
        else:
            previous_k = k - 1
            start_x = row[previous_k + d + 1]
            start_y = start_x - previous_k
            snake_x, snake_y = start_x + 1, start_y
        if x > snake_x:
            blocks.append((snake_x, snake_y, x - snake_x))
        x, y, k, d = start_x, start_y, previous_k, d - 1
    if x > 0:
        blocks.append((0, 0, x))
    blocks.reverse()
    return blocks
