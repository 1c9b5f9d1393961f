"""Durations in sentences, normalised to days.

The vocabulary (number words, units, qualifiers, unbounded phrases, age,
look-back and contract-term contexts) comes from
``analysis/rules/lang_<xx>.yaml``; this module compiles it and reads durations
such as "30 days", "thirty (30) days", "thirty (30) rolling days", "five (5)
additional years", "30-day", "one year", "30 Tagen", "dreißig (30) Tage",
"einem Jahr", "30-tägig", "trente jours", "quatre-vingt-dix jours", "un an",
plus the unbounded "indefinitely", "as long as necessary", "unbefristet",
"aussi longtemps que nécessaire".

Not periods of keeping data, so not read: ages ("children under 13 years",
"over 18 year olds", "über 18-Jährige"), rates ("twice a year"), look-back
windows ("in the preceding 12 months", "au cours des 12 derniers mois") and
the term of a contract ("continues for an indefinite period, until
terminated").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from analysis.evidence import Duration
from analysis.prefilter import necessary_literals, union_literals

_FLAGS = re.IGNORECASE | re.UNICODE


@dataclass(frozen=True)
class DurationVocabulary:
    numbers: dict[str, float]
    tens: dict[str, float]
    units: dict[str, float]
    unit_days: tuple[float, ...]
    unit_is_year: tuple[bool, ...]
    pattern: re.Pattern[str]
    unbounded: re.Pattern[str] | None
    skip_before: re.Pattern[str] | None
    skip_after: re.Pattern[str] | None
    age_context: re.Pattern[str] | None
    term_context: re.Pattern[str] | None
    # Finds one of the lower-case strings every duration contains (a unit
    # word, a piece of an unbounded phrase): a sentence without any is skipped
    # before the full pattern runs. None when unknown (a unit as short as "an"
    # or "hr"); then ``hint``, the units and unbounded phrases alone, decides.
    literals: re.Pattern[str] | None = None
    hint: re.Pattern[str] | None = None


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _optional(patterns: list[str] | None) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)


def _scan(literals: frozenset[str] | None) -> re.Pattern[str] | None:
    if literals is None:
        return None
    return re.compile("|".join(re.escape(literal) for literal in sorted(literals, key=len, reverse=True)))


def compile_vocabulary(raw: dict[str, Any]) -> DurationVocabulary:
    """Build the duration matcher from the ``durations`` section of a language file."""
    numbers = {str(k).lower(): float(v) for k, v in raw["numbers"].items()}
    tens = {str(k).lower(): float(v) for k, v in (raw.get("tens") or {}).items()}
    units_words = {str(k).lower(): float(v) for k, v in (raw.get("unit_words") or {}).items()}
    number_alts = [r"\d{1,3}(?:,\d{3})+", r"\d+(?:[.,]\d+)?"]
    template = raw.get("compound")
    if template and tens and units_words:
        compound = template.replace("{tens}", f"(?P<ct>{_alternation(list(tens))})").replace(
            "{units}", f"(?P<cu>{_alternation(list(units_words))})"
        )
        number_alts.insert(0, compound)
    number_alts.append(_alternation(list(numbers)))
    unit_groups = []
    unit_days = []
    unit_is_year = []
    for i, unit in enumerate(raw["units"]):
        unit_groups.append(f"(?P<u{i}>{unit['pattern']})")
        unit_days.append(float(unit["days"]))
        unit_is_year.append(bool(unit.get("year", False)))
    parenthetical = r"(?:\s*\(\s*[^()]{1,24}?\s*\))?"
    # Words that may stand between the number and its unit ("rolling", "additional").
    qualifiers = raw.get("qualifiers") or []
    qualifier = rf"(?:(?:{_alternation(qualifiers)})\s+)?" if qualifiers else ""
    pattern = re.compile(
        rf"(?<![\w.,])(?P<num>{'|'.join(number_alts)}){parenthetical}(?:\s*-\s*|\s+|){qualifier}"
        rf"(?:{'|'.join(unit_groups)})(?!\w)",
        _FLAGS,
    )
    hint_patterns = [rf"\b(?:{unit['pattern']})" for unit in raw["units"]] + list(raw.get("unbounded") or [])
    return DurationVocabulary(
        numbers=numbers,
        tens=tens,
        units=units_words,
        unit_days=tuple(unit_days),
        unit_is_year=tuple(unit_is_year),
        pattern=pattern,
        unbounded=_optional(raw.get("unbounded")),
        skip_before=_optional(raw.get("skip_before")),
        skip_after=_optional(raw.get("skip_after")),
        age_context=_optional(raw.get("age_context")),
        term_context=_optional(raw.get("term_context")),
        literals=_scan(union_literals(necessary_literals(p, _FLAGS) for p in hint_patterns)),
        hint=re.compile("|".join(f"(?:{p})" for p in hint_patterns), _FLAGS),
    )


def _number_value(match: re.Match[str], vocab: DurationVocabulary) -> float | None:
    if "ct" in match.re.groupindex and match.group("ct"):
        return vocab.tens[match.group("ct").lower()] + vocab.units[match.group("cu").lower()]
    text = match.group("num")
    if text[0].isdigit():
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
            return float(text.replace(",", ""))
        return float(text.replace(",", "."))
    return vocab.numbers.get(text.lower())


def extract_durations(sentence: str, vocab: DurationVocabulary) -> tuple[Duration, ...]:
    """All durations in ``sentence``, in order of appearance, without repeats of the same value.

    A sentence about the term of a contract or licence names no period of
    keeping data: it has none.
    """
    if vocab.literals is not None:
        if vocab.literals.search(sentence.lower()) is None:
            return ()
    elif vocab.hint is not None and not vocab.hint.search(sentence):
        return ()
    if vocab.term_context is not None and vocab.term_context.search(sentence):
        return ()
    found: list[tuple[int, Duration]] = []
    for m in vocab.pattern.finditer(sentence):
        before = sentence[max(0, m.start() - 40) : m.start()]
        after = sentence[m.end() : m.end() + 30]
        if vocab.skip_before and vocab.skip_before.search(before):
            continue
        if vocab.skip_after and vocab.skip_after.match(after):
            continue
        unit_index = next(i for i in range(len(vocab.unit_days)) if m.group(f"u{i}") is not None)
        # "children under 13 years" names an age, not a period.
        if vocab.unit_is_year[unit_index] and vocab.age_context and vocab.age_context.search(before):
            continue
        value = _number_value(m, vocab)
        if value is None:
            continue
        found.append((m.start(), Duration(days=round(value * vocab.unit_days[unit_index], 4), text=m.group(0))))
    if vocab.unbounded:
        for m in vocab.unbounded.finditer(sentence):
            found.append((m.start(), Duration(days=None, text=m.group(0), unbounded=True)))
    found.sort(key=lambda item: item[0])
    seen: set[tuple[float | None, bool]] = set()
    result = []
    for _, duration in found:
        key = (duration.days, duration.unbounded)
        if key not in seen:
            seen.add(key)
            result.append(duration)
    return tuple(result)
