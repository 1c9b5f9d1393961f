"""Classifying text into the flag categories, sentence by sentence, with evidence.

Every rule of the language (``analysis/rules/<xx>.yaml``) that could match
(see ``analysis.prefilter``) is tried on every sentence. Per sentence and
category one piece of evidence is kept: that of the first rule, in file
order, whose match is not negated, or else that of the first rule that
matched, so that "we do not sell your data, but we share it with vendors"
counts as an affirmative sharing statement.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator

from analysis.durations import extract_durations
from analysis.evidence import CATEGORIES, Classification, Duration, Evidence, order_categories
from analysis.language import detect_language
from analysis.polarity import polarity
from analysis.rules import language_data
from analysis.sentences import Unit, split_sentences, split_units
from analysis.vocabulary import Polarity, UnitKind
from analysis.values import data_categories, opt_kind

__all__ = [
    "CATEGORIES",
    "Classification",
    "Duration",
    "Evidence",
    "classify",
    "classify_json_lines",
    "classify_sentence",
    "detect_language",
    "split_sentences",
]


@functools.lru_cache(maxsize=8192)
def classify_sentence(sentence: str, language: str) -> tuple[Evidence, ...]:
    """Evidence for one plain-text sentence, at most one item per category, in ``CATEGORIES`` order."""
    data = language_data(language)
    lowered = sentence.lower()
    if data.no_statement is not None and _may_state_nothing(lowered, data.no_statement_literals) and (
        data.no_statement.match(sentence)
    ):
        return ()
    best: dict[str, Evidence] = {}
    durations: tuple[Duration, ...] | None = None
    opt: str | None = None
    names: tuple[str, ...] = ()
    candidates = data.rule_index.candidates(lowered)
    for index, rule in enumerate(data.rules):
        if index not in candidates:
            continue
        current = best.get(rule.category)
        if current is not None and current.polarity != Polarity.NEGATED:
            continue
        span = rule.find(sentence, lowered)
        if span is None:
            continue
        start, end = span
        if durations is None:
            durations = extract_durations(sentence, data.durations)
            opt = opt_kind(sentence, data)
            names = data_categories(sentence, data, lowered)
        found = Evidence(
            category=rule.category,
            rule_id=rule.id,
            start=start,
            end=end,
            sentence=sentence,
            polarity=polarity(sentence, start, end, data),
            durations=durations,
            opt=opt,
            data_categories=names,
        )
        if current is None or found.polarity != Polarity.NEGATED:
            best[rule.category] = found
    return tuple(best[c] for c in CATEGORIES if c in best)


def _may_state_nothing(lowered: str, literals: re.Pattern[str] | None) -> bool:
    return literals is None or literals.search(lowered) is not None


def matching_rules(sentence: str, language: str) -> tuple[str, ...]:
    """Ids of every rule that matches ``sentence`` on its own, in file order (for measuring rules one by one)."""
    data = language_data(language)
    lowered = sentence.lower()
    candidates = data.rule_index.candidates(lowered)
    return tuple(rule.id for index, rule in enumerate(data.rules) if index in candidates and rule.find(sentence, lowered))


def classify_unit(unit: Unit, language: str) -> tuple[Evidence, ...]:
    """Evidence for one unit of a document, at most one item per category, in ``CATEGORIES`` order.

    Headings and table-of-contents entries name topics without stating
    anything: they have none. A list item that states nothing of its own
    carries the categories of the sentence that introduces its list ("We
    share data with these processors:" makes the item "Acme Analytics" a
    sharing statement), with that sentence's rule and polarity and the item's
    own values (or the lead's periods when the item names none), unless the
    list enumerates purposes ("… when necessary to:", "for the following
    reasons:"): a purpose says why, not what or to whom.
    """
    if not unit.kind.states:
        return ()
    own = classify_sentence(unit.text, language)
    if own or unit.kind != UnitKind.ITEM or unit.lead is None:
        return own
    purpose = language_data(language).purpose_lead
    if purpose is not None and purpose.search(unit.lead):
        return own
    from_lead = classify_sentence(unit.lead, language)
    if not from_lead:
        return own
    durations, opt, names = _item_values(unit.text, language)
    return tuple(
        Evidence(
            category=e.category,
            rule_id=e.rule_id,
            start=0,
            end=len(unit.text),
            sentence=unit.text,
            polarity=e.polarity,
            durations=durations or e.durations,
            opt=opt or e.opt,
            data_categories=names,
            lead=unit.lead,
        )
        for e in from_lead
    )


@functools.lru_cache(maxsize=4096)
def _item_values(text: str, language: str) -> tuple[tuple[Duration, ...], str | None, tuple[str, ...]]:
    data = language_data(language)
    return extract_durations(text, data.durations), opt_kind(text, data), data_categories(text, data)


def classify_units(text: str, language: str) -> list[tuple[Unit, tuple[Evidence, ...]]]:
    """Every unit of a Markdown or plain text with its evidence (see ``classify_unit``), in order."""
    return [(unit, classify_unit(unit, language)) for unit in split_units(text, language)]


def classify(text: str, language: str | None = None) -> Classification:
    """Flags and evidence for a Markdown or plain text; the language is detected when not given."""
    lang = language or detect_language(text)
    evidence = [e for _, found in classify_units(text, lang) for e in found]
    return Classification(flags=order_categories([e.category for e in evidence]), evidence=tuple(evidence))


def classify_json_lines(lines: Iterable[str], language: str | None = None) -> Iterator[str]:
    """Classify JSON lines.

    Each non-blank input line is a JSON object with a string ``text``; the
    output line is the same object (all other fields passed through, in
    order) with ``flags`` (list of categories) and ``evidence`` (list of
    ``Evidence.to_json()``) added. Blank lines are skipped. A line that is
    not a JSON object or lacks a string ``text`` raises
    ``ValueError("line N: …")`` with its 1-based number.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise ValueError(f"line {number}: expected a JSON object, got {type(record).__name__}")
        text = record.get("text")
        if not isinstance(text, str):
            problem = "no \"text\" field" if "text" not in record else f"\"text\" is {type(text).__name__}, not a string"
            raise ValueError(f"line {number}: {problem}")
        result = classify(text, language)
        record["flags"] = list(result.flags)
        record["evidence"] = [e.to_json() for e in result.evidence]
        yield json.dumps(record, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.classify [LANG] < in.jsonl > out.jsonl``; a bad line stops with status 2."""
    args = sys.argv[1:] if argv is None else argv
    try:
        for line in classify_json_lines(sys.stdin, args[0] if args else None):
            sys.stdout.write(line + "\n")
    except ValueError as exc:
        print(f"analysis.classify: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
