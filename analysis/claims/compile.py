"""Compiling declared matchers: the rule format of ``analysis/rules/*.yaml`` per language.

A matcher declaration::

    id: turn-off-history
    en: {patterns: [...], requires: [...], unless: [...]}
    de: {patterns: [...]}
    expect: {polarity: affirmative}
    note: why this wording counts

or a reuse of another claim's matcher, optionally with its own id, expect
and note::

    ref: openai/content-may-train-models#content-trains-models

Conditions compile with ``analysis.rules.compile_condition`` and the
``regex`` engine, whose searches take a time limit, so that a pathological
pattern stops with an error instead of hanging an evaluation (the standard
``re`` module cannot be interrupted). Errors are ``SpecError`` with the
dotted field at fault, relative to the matcher.
"""

from __future__ import annotations

import re as _re
from collections.abc import Mapping
from dataclasses import replace
from types import ModuleType
from typing import Any

import regex

from analysis.claims.expect import ExpectError, parse_expect
from analysis.claims.model import Matcher
from analysis.claims.vocabulary import Role
from analysis.errors import as_written
from analysis.rules import CONDITION_KEYS, LANGUAGES, Condition, RuleError, compile_condition

ENGINE: ModuleType = regex
MATCHER_ID = _re.compile(r"^[a-z0-9][a-z0-9-]*$")
MATCHER_KEYS: tuple[str, ...] = ("id", "ref", "expect", "note", *LANGUAGES)


class SpecError(ValueError):
    """A malformed matcher or condition; ``field`` is the dotted path of the key at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _string_list(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SpecError(field, "must be a non-empty list of regular expressions (strings)")
    return tuple(value)


def _matches_empty(pattern: str) -> bool | None:
    """Whether `pattern` on its own matches the empty string; None where it means something only among the
    others (a reference to another pattern's group), and so does not compile on its own."""
    try:
        return ENGINE.compile(pattern, ENGINE.IGNORECASE | ENGINE.UNICODE).fullmatch("") is not None
    except ENGINE.error:
        return None


def compile_language_condition(raw: Any, field: str) -> tuple[Condition, dict[str, tuple[str, ...]]]:
    """One language's ``patterns`` / ``requires`` / ``unless``, compiled, and the declared strings."""
    if not isinstance(raw, Mapping):
        raise SpecError(field, "must be a mapping with 'patterns' (and optional 'requires', 'unless')")
    unknown = sorted(set(raw) - set(CONDITION_KEYS))
    if unknown:
        raise SpecError(f"{field}.{unknown[0]}", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(CONDITION_KEYS)}")
    if "patterns" not in raw:
        raise SpecError(f"{field}.patterns", "is required")
    spec = {key: _string_list(raw[key], f"{field}.{key}") for key in CONDITION_KEYS if key in raw}
    try:
        condition = compile_condition({k: list(v) for k, v in spec.items()}, field, ENGINE)
    except RuleError as exc:
        raise SpecError(f"{field}.{exc.key or 'patterns'}", str(exc).split(": ", 1)[-1]) from None
    # The patterns are compiled as alternatives of one expression, which matches the empty string when one of them
    # does: each is compiled on its own only then, to name it (each on its own was 176 of the 468 compilations
    # of loading the bundled claims). The lower-cased expression, always compiled, matches it as the other would.
    assert condition.lower is not None
    if condition.lower[0].fullmatch(""):
        alone = {p: _matches_empty(p) for p in spec["patterns"]}
        culprits = [p for p, empty in alone.items() if empty]
        if culprits:
            it = "it" if len(culprits) == 1 else "they"
            raise SpecError(f"{field}.patterns", f"{', '.join(map(as_written, culprits))} "
                                                 f"{'matches' if it == 'it' else 'match'} the empty string, "
                                                 f"so {it} would match every sentence")
        referring = [p for p, empty in alone.items() if empty is None] or list(spec["patterns"])
        raise SpecError(f"{field}.patterns", f"together the patterns match the empty string, through "
                                             f"{', '.join(map(as_written, referring))} (which refer to the others), "
                                             "so they would match every sentence")
    return condition, spec


def compile_matcher(raw: Any, role: Role, field: str = "") -> Matcher:
    """A ``Matcher`` from its declaration (not a ``ref:``; see ``reuse_matcher``)."""
    prefix = f"{field}." if field else ""
    if not isinstance(raw, Mapping):
        raise SpecError(field or "matcher", "must be a mapping with an 'id' and conditions per language")
    _check_keys(raw, prefix)
    matcher_id = _matcher_id(raw.get("id"), prefix)
    if "ref" in raw:
        raise SpecError(f"{prefix}ref", "is resolved by reuse_matcher")
    conditions: dict[str, Condition] = {}
    spec: dict[str, dict[str, tuple[str, ...]]] = {}
    for language in LANGUAGES:
        if language in raw:
            conditions[language], spec[language] = compile_language_condition(raw[language], f"{prefix}{language}")
    if not conditions:
        raise SpecError(f"{prefix}{LANGUAGES[0]}", f"give conditions for at least one language ({', '.join(LANGUAGES)}) or a 'ref'")
    return Matcher(id=matcher_id, role=role, conditions=conditions, spec=spec,
                   expect=_expect(raw, prefix), note=_note(raw, prefix))


def reuse_matcher(target: Matcher, ref: str, raw: Mapping[str, Any], role: Role, field: str = "") -> Matcher:
    """The matcher ``target`` reused under ``role``; ``raw`` may give its own id, expect and note.

    Conditions come from the target only: a ref that also declared patterns
    would be two matchers in one.
    """
    prefix = f"{field}." if field else ""
    _check_keys(raw, prefix)
    own = sorted(set(raw) & set(LANGUAGES))
    if own:
        raise SpecError(f"{prefix}{own[0]}", "a 'ref' reuses the conditions of the matcher it names; declare a new matcher instead")
    matcher_id = _matcher_id(raw["id"], prefix) if "id" in raw else target.id
    return replace(target, id=matcher_id, role=role, ref=ref,
                   expect=_expect(raw, prefix) if "expect" in raw else target.expect,
                   note=_note(raw, prefix) if "note" in raw else target.note)


def _check_keys(raw: Mapping[str, Any], prefix: str) -> None:
    unknown = sorted(set(raw) - set(MATCHER_KEYS))
    if unknown:
        raise SpecError(f"{prefix}{unknown[0]}", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(MATCHER_KEYS)}")


def _matcher_id(value: Any, prefix: str) -> str:
    if not isinstance(value, str) or not MATCHER_ID.match(value):
        raise SpecError(f"{prefix}id", f"{value!r} must be lower-case words joined by '-', e.g. 'turn-off-history'")
    return value


def _expect(raw: Mapping[str, Any], prefix: str) -> Any:
    if "expect" not in raw:
        return None
    try:
        return parse_expect(raw["expect"])
    except ExpectError as exc:
        raise SpecError(f"{prefix}{exc.field}", str(exc)) from None


def _note(raw: Mapping[str, Any], prefix: str) -> str:
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise SpecError(f"{prefix}note", "must be a string")
    return note.strip()
