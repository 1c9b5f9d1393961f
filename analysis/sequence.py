"""Matching two sequences (lines, words, sentences) in bounded time, with a diff whose size is the real edit.

difflib's SequenceMatcher aligns by repeatedly taking the longest matching
block, then matching what is left on either side of it. Its work grows with
the number of pairs of equal items, so it is quadratic on repetitive text
(20,000 identical sentences are 4·10⁸ pairs), and with the number of blocks
when the longest one is always near an end (100,000 distinct lines with every
tenth changed); and its "autojunk" heuristic, which keeps blank lines from
anchoring an alignment, also refuses to anchor on any repeated line: ten
thousand lines of "Yes." / "No." / "Maybe." with one line changed came out as
five thousand lines replaced.

``opcodes`` therefore uses difflib as before where it stays within a budget
of work and drops nothing but what the caller allows (every real policy text:
the same result as ever), and otherwise ``edit_opcodes``: a common head and
tail are set aside; the smallest edit of the rest is searched (the difference
algorithm of Myers, 1986, whose cost grows with the size of the edit rather
than with repetition) within a step budget; past it, the items that occur
once in each side anchor the alignment (as in "patience" diff) and the
stretches between anchors are matched the same way; what is left without
anchors or budget is one replaced block. Every path is bounded.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from difflib import SequenceMatcher

Opcode = tuple[str, int, int, int, int]
Block = tuple[int, int, int]  # a[i:i+size] == b[j:j+size]

# Pairs of equal items beyond which difflib is not used (about 0.3 s of its inner loop).
PAIRS_LIMIT = 1_000_000
# Items difflib may scan, over all its searches for a longest block, before it is given up (about 0.3 s;
# consecutive versions of OpenAI's documents, 1,560 alignments, need at most 13,414).
DIFFLIB_WORK_LIMIT = 200_000
# Steps (diagonals tried and items compared) the search for a smallest edit may take before giving up; it
# also bounds the edits searched (d·(d+1)/2 diagonals for d edits), and with them the trace kept, to 1,400.
EDIT_STEPS_LIMIT = 1_000_000
# Steps for all the searches of one alignment, anchors and stretches between them included.
TOTAL_STEPS_LIMIT = 4 * EDIT_STEPS_LIMIT


class _TooMuchWork(Exception):
    pass


class _BoundedMatcher(SequenceMatcher):
    """difflib's matcher, stopped once its searches for longest blocks have scanned ``DIFFLIB_WORK_LIMIT`` items."""

    work = 0

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):  # type: ignore[no-untyped-def,override]
        self.work += (len(self.a) if ahi is None else ahi) - alo + (len(self.b) if bhi is None else bhi) - blo
        if self.work > DIFFLIB_WORK_LIMIT:
            raise _TooMuchWork
        return super().find_longest_match(alo, ahi, blo, bhi)


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
    matcher = _BoundedMatcher(None, a, b, autojunk=autojunk)
    if _difflib_is_sound(matcher, a, junk_allowed):
        try:
            return matcher.get_opcodes()
        except _TooMuchWork:
            pass
    return edit_opcodes(a, b)


class _Steps:
    def __init__(self, limit: int):
        self.left = limit

    def take(self, steps: int) -> None:
        self.left -= steps


def edit_opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """Opcodes of a smallest edit from ``a`` to ``b`` when one is found within ``EDIT_STEPS_LIMIT`` steps,
    else of an alignment on the items each side has once (see the module's doc); always bounded."""
    return _to_opcodes(_match(a, b, 0, 0, _Steps(TOTAL_STEPS_LIMIT), EDIT_STEPS_LIMIT), len(a), len(b))


def smallest_edit_opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode] | None:
    """Opcodes of a smallest edit from ``a`` to ``b``; None when none is found within ``EDIT_STEPS_LIMIT``."""
    n, m = len(a), len(b)
    head, tail = _common_ends(a, b)
    found = _smallest_edit(a[head:n - tail], b[head:m - tail], _Steps(EDIT_STEPS_LIMIT))
    if found is None:
        return None
    return _to_opcodes(_framed(found, head, tail, n, m, 0, 0), n, m)


def _common_ends(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[int, int]:
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    return head, tail


def _framed(middle: list[Block], head: int, tail: int, n: int, m: int, i0: int, j0: int) -> list[Block]:
    """The blocks of a middle stretch with the common head and tail around them, offset by (i0, j0)."""
    blocks = [(i0, j0, head)] if head else []
    blocks += [(i + head + i0, j + head + j0, size) for i, j, size in middle if size]
    if tail:
        blocks.append((n - tail + i0, m - tail + j0, tail))
    return blocks


def _match(a: Sequence[Hashable], b: Sequence[Hashable], i0: int, j0: int, steps: _Steps,
           search: int) -> list[Block]:
    """Matching blocks of ``a`` and ``b`` (offset by ``i0``, ``j0``): a smallest edit if the search finds one
    within ``search`` steps, else anchored on items each side has once, else none."""
    n, m = len(a), len(b)
    head, tail = _common_ends(a, b)
    steps.take(head + tail + 1)
    middle_a, middle_b = a[head:n - tail], b[head:m - tail]
    found: list[Block] | None = []
    if middle_a and middle_b and steps.left > 0:
        found = _smallest_edit(middle_a, middle_b, _Steps(min(search, steps.left)), steps)
        if found is None:
            found = _anchored(middle_a, middle_b, steps)
    return _framed(found or [], head, tail, n, m, i0, j0)


def _anchored(a: Sequence[Hashable], b: Sequence[Hashable], steps: _Steps) -> list[Block]:
    """Blocks aligned on the items that occur once in ``a`` and once in ``b`` (the longest run of them in
    the same order), the stretches between them matched by ``_match``."""
    steps.take(len(a) + len(b))
    count_a, count_b = Counter(a), Counter(b)
    where_b = {item: j for j, item in enumerate(b) if count_b[item] == 1}
    pairs = [(i, where_b[item]) for i, item in enumerate(a) if count_a[item] == 1 and item in where_b]
    anchors = _increasing(pairs)
    if not anchors:
        return []
    blocks: list[Block] = []
    i = j = 0
    for ai, bj in anchors + [(len(a), len(b))]:
        if ai > i and bj > j:
            # Stretches between anchors are small when the anchors are many: each gets a search of its size.
            blocks += _match(a[i:ai], b[j:bj], i, j, steps, 50 * (ai - i + bj - j) + 1000)
        if ai < len(a):
            blocks.append((ai, bj, 1))
        i, j = ai + 1, bj + 1
    return _merged(blocks)


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (increasing in their first item) increasing in the second."""
    tails: list[int] = []  # tails[k]: the smallest second item ending an increasing run of length k + 1
    tail_at: list[int] = []  # the index in pairs of that pair
    before = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k] = j
            tail_at[k] = index
        before[index] = tail_at[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(pairs[index])
        index = before[index]
    run.reverse()
    return run


def _merged(blocks: list[Block]) -> list[Block]:
    merged: list[Block] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((i, j, size))
    return merged


def _to_opcodes(blocks: list[Block], n: int, m: int) -> list[Opcode]:
    result: list[Opcode] = []
    i = j = 0
    for bi, bj, size in _merged(blocks) + [(n, m, 0)]:
        tag = "replace" if i < bi and j < bj else "delete" if i < bi else "insert" if j < bj else ""
        if tag:
            result.append((tag, i, bi, j, bj))
        if size:
            result.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return result


def _smallest_edit(a: Sequence[Hashable], b: Sequence[Hashable], budget: _Steps,
                   total: _Steps | None = None) -> list[Block] | None:
    """Matching blocks of a smallest edit script (Myers' greedy O(ND) search), or None when the search needs
    more than ``budget`` steps; the steps taken are also taken from ``total``."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    if total is not None:
        total.take(n + m)
    if n + m > 64:
        # At least this many items differ, however they are aligned; the search would need d·(d+1)/2 steps.
        at_least = n + m - 2 * sum((Counter(a) & Counter(b)).values())
        if at_least * (at_least + 1) // 2 > budget.left:
            return None
    steps = budget.left
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
                if total is not None:
                    total.take(spent)
                return _blocks_from_trace(trace, d, k, n, m)
        if spent > steps:
            if total is not None:
                total.take(spent)
            return None
    return None


def _blocks_from_trace(trace: list[array[int]], d: int, k: int, n: int, m: int) -> list[Block]:
    """The matching blocks of the path the search found, walking its trace back from (n, m)."""
    blocks: list[Block] = []
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
