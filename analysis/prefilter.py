"""Literal prefilters for rule patterns.

Most rule patterns cannot match unless the sentence contains one of a few
literal strings ("retain", "retention", "speicher" …). Deriving those strings
from the parsed pattern lets the classifier skip a rule with a plain
substring test, which is far cheaper than running the regular expression on
every sentence: the whole 8,000-word OpenAI policy is then classified in a
few tens of milliseconds.

``necessary_literals`` returns a set of lower-case strings such that every
match of the pattern contains at least one of them, or ``None`` when no such
set is known (the rule is then always tried). It only ever errs towards
``None``: an unknown construct, a literal shorter than three characters or a
parse failure disables the prefilter for that pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

try:  # Python 3.11+ names the parser re._parser; older versions sre_parse.
    from re import _constants as _c
    from re import _parser as _parse
except ImportError:  # pragma: no cover - exercised on Python < 3.11 only
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parse  # type: ignore[no-redef]

_MAX_ALTERNATIVES = 64
_MIN_LENGTH = 3
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({getattr(_c, "POSSESSIVE_REPEAT")} if hasattr(_c, "POSSESSIVE_REPEAT") else set())
_ATOMIC = getattr(_c, "ATOMIC_GROUP", None)

Literals = frozenset[str]


def _product(left: set[str], right: Iterable[str]) -> set[str] | None:
    result = {a + b for a in left for b in right}
    return result if len(result) <= _MAX_ALTERNATIVES else None


def _exact(items: Iterable[tuple[object, object]]) -> set[str] | None:
    """Every string the sequence can match, when it is made only of literals and alternations."""
    strings: set[str] | None = {""}
    for op, av in items:
        if strings is None:
            return None
        if op is _c.LITERAL:
            strings = {s + chr(av).lower() for s in strings}  # type: ignore[arg-type]
        elif op is _c.SUBPATTERN:
            inner = _exact(av[-1])  # type: ignore[index]
            strings = None if inner is None else _product(strings, inner)
        elif op is _c.BRANCH:
            options: set[str] = set()
            for branch in av[1]:  # type: ignore[index]
                inner = _exact(branch)
                if inner is None:
                    return None
                options |= inner
            strings = _product(strings, options)
        elif op in _REPEATS and av[0] == 0 and av[1] == 1:  # type: ignore[index]
            inner = _exact(av[2])  # type: ignore[index]
            strings = None if inner is None else _product(strings, inner | {""})
        else:
            return None
    return strings


def _necessary(items: Iterable[tuple[object, object]]) -> set[str] | None:
    """A set of strings of which every match of the sequence contains one, or None."""
    candidates: list[set[str]] = []
    current: set[str] = {""}

    def flush() -> None:
        nonlocal current
        if current and all(current):
            candidates.append(current)
        current = {""}

    for op, av in items:
        exact = _exact([(op, av)])
        if exact is not None and all(exact):
            joined = _product(current, exact)
            if joined is not None:
                current = joined
                continue
        flush()
        found: set[str] | None = None
        if op is _c.SUBPATTERN:
            found = _necessary(av[-1])  # type: ignore[index]
        elif _ATOMIC is not None and op is _ATOMIC:
            found = _necessary(av)  # type: ignore[arg-type]
        elif op is _c.BRANCH:
            union: set[str] = set()
            for branch in av[1]:  # type: ignore[index]
                inner = _necessary(branch)
                if inner is None:
                    union = set()
                    break
                union |= inner
            found = union or None
        elif op in _REPEATS and av[0] >= 1:  # type: ignore[index]
            found = _necessary(av[2])  # type: ignore[index]
        if found:
            candidates.append(found)
    flush()
    usable = [c for c in candidates if len(c) <= _MAX_ALTERNATIVES and min(map(len, c)) >= _MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(map(len, c)), -len(c)))


def necessary_literals(pattern: str, flags: int = 0) -> Literals | None:
    """Lower-case strings one of which occurs in every match of ``pattern``, or ``None``."""
    try:
        parsed = _parse.parse(pattern, flags)
    except Exception:  # an unparseable pattern simply gets no prefilter
        return None
    found = _necessary(list(parsed))
    return frozenset(found) if found else None


def union_literals(sets: Iterable[Literals | None]) -> Literals | None:
    """Literals for an alternation of patterns: ``None`` as soon as one alternative has none."""
    result: set[str] = set()
    for s in sets:
        if s is None:
            return None
        result |= s
    return frozenset(result)


def _trie_regex(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, factored as a trie so that
    the engine does work proportional to the depth, not the number of words."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Longest first: a word that ends here is only an option after the longer ones.
        return f"(?:{body})?" if ends else body

    return emit(trie)


class TriggerIndex:
    """Which of many keyed patterns could match a lower-cased text, in one regex pass.

    Each key comes with its necessary literals (or ``None``: always a
    candidate). ``candidates`` scans the text once with a trie of all
    literals, reporting at each position the longest literal there; every
    shorter literal that is a prefix of it is then present too, so the keys
    of all literals present are found.
    """

    def __init__(self, keyed: Iterable[tuple[int, Literals | None]]) -> None:
        by_literal: dict[str, set[int]] = {}
        always: set[int] = set()
        for key, literals in keyed:
            if literals is None:
                always.add(key)
                continue
            for literal in literals:
                by_literal.setdefault(literal, set()).add(key)
        closure: dict[str, frozenset[int]] = {}
        for literal in by_literal:
            keys: set[int] = set()
            for end in range(1, len(literal) + 1):
                keys |= by_literal.get(literal[:end], set())
            closure[literal] = frozenset(keys)
        self._keys = closure
        self._always = frozenset(always)
        self._scan = re.compile(f"(?=({_trie_regex(by_literal)}))") if by_literal else None

    def candidates(self, lowered: str) -> set[int]:
        found = set(self._always)
        if self._scan is not None:
            for m in self._scan.finditer(lowered):
                keys = self._keys.get(m.group(1))
                if keys:
                    found |= keys
        return found
