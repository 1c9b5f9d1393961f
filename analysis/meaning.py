"""What a change between two versions means in flagged terms.

``analyse_change`` decides first whether a change is only formatting, then
aligns sentences, classifies every removed, added or modified sentence, and
grades the change.

Formatting. A change is ``formatting`` when both versions have the same
word sequence once Markdown link targets, emphasis and escapes, "(opens in a
new window)", U+2060 and other invisible characters, typographic quotes and
dashes, case, punctuation and whitespace are ignored
(``analysis.plaintext.word_sequence``). It is also ``formatting`` when the
only difference is a page-title line: the first non-blank line of either
version, when it is short (at most 12 words) and has no sentence punctuation
(``.``, ``!``, ``?``, ``;``, ``:``), may be dropped before comparing. That
covers the ``<title>`` flip-flop ("EU privacy policy | OpenAI" → "OpenAI")
and a title line appearing or disappearing. A formatting change never has
flags.

Substantive changes. Sentences are aligned (``analysis.align``); bare
headings (at most six words without sentence punctuation, such as a new
table-of-contents entry "5. Retention") carry no statement and are not
classified. Evidence comes from the old side of removed sentences, the new
side of added ones and both sides of modified ones.

Severity:

- ``high``: a duration changed in flagged sentences (in a modified
  sentence, or between the removed and the added sentences taken together);
  a polarity flip (affirmative or hedged ↔ negated) of a category in a
  modified sentence; an opt-out replaced by an opt-in, or removed with no
  opt-out among the new or modified sentences of the change; a sensitive
  data category (images, faces, biometrics, voice, children, identity
  documents, health, precise location, special categories) named in new
  flagged text that the old version never named;
- ``medium``: any other flagged sentence added, removed or modified;
- ``low``: a substantive change without flags;
- ``none``: formatting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from analysis.align import SentenceChange, align_sentences
from analysis.classify import classify_sentence
from analysis.evidence import CATEGORIES, Duration, Evidence, order_categories
from analysis.plaintext import normalise_typography, word_sequence
from analysis.rules import language_data
from analysis.sentences import split_sentences
from analysis.values import data_categories, sensitive_names

_TITLE_MAX_WORDS = 12
_TITLE_PUNCTUATION = re.compile(r"[.!?;:]")
_HEADING_MAX_WORDS = 6
_SENTENCE_END = re.compile(r"[.!?;:]\W*$")
_EXCERPT_CHARS = 80
_SUMMARY_ITEMS = 3
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "none": 3}
# Data categories too generic to name what a sentence is about in a summary.
_GENERIC = {"personal data", "content", "account information"}


@dataclass(frozen=True)
class ChangeAnalysis:
    """The meaning of one change.

    JSON form (``to_json``): ``kind`` ("formatting" | "substantive"),
    ``flags`` (categories), ``evidence`` (list of ``Evidence.to_json()``,
    each with ``side`` "old" or "new"), ``summary`` (one line; "" when
    nothing is flagged, "formatting only" for formatting) and ``severity``
    ("high" | "medium" | "low" | "none").
    """

    kind: str
    flags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    summary: str
    severity: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "flags": list(self.flags),
            "evidence": [e.to_json() for e in self.evidence],
            "summary": self.summary,
            "severity": self.severity,
        }


FORMATTING = ChangeAnalysis(kind="formatting", flags=(), evidence=(), summary="formatting only", severity="none")


def _title_line(text: str) -> tuple[str, str] | None:
    """(title line, rest) when the first non-blank line looks like a page title."""
    stripped = text.lstrip()
    first, _, rest = stripped.partition("\n")
    plain = normalise_typography(first).strip().lstrip("#").strip()
    words = word_sequence(plain)
    if not words or len(words) > _TITLE_MAX_WORDS or _TITLE_PUNCTUATION.search(plain):
        return None
    return first, rest


def is_formatting_change(old_text: str, new_text: str) -> bool:
    """True when the two texts differ only in formatting or in a page-title line (see module doc)."""
    old_words = word_sequence(old_text)
    new_words = word_sequence(new_text)
    if old_words == new_words:
        return True
    old_title = _title_line(old_text)
    new_title = _title_line(new_text)
    old_body = word_sequence(old_title[1]) if old_title else None
    new_body = word_sequence(new_title[1]) if new_title else None
    return (
        (old_body is not None and old_body == new_words)
        or (new_body is not None and new_body == old_words)
        or (old_body is not None and new_body is not None and old_body == new_body)
    )


def _is_bare_heading(sentence: str) -> bool:
    return len(word_sequence(sentence)) <= _HEADING_MAX_WORDS and not _SENTENCE_END.search(sentence)


def _excerpt(sentence: str) -> str:
    if len(sentence) <= _EXCERPT_CHARS:
        return sentence
    cut = sentence[:_EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


_MAX_DURATIONS_SHOWN = 3


def _durations_label(durations: list[Duration]) -> str:
    if not durations:
        return "no stated period"
    shown = ", ".join(d.label() for d in durations[:_MAX_DURATIONS_SHOWN])
    return shown + ", …" if len(durations) > _MAX_DURATIONS_SHOWN else shown


def _duration_keys(evidence: list[Evidence]) -> list[Duration]:
    seen: dict[tuple[float | None, bool], Duration] = {}
    for e in evidence:
        if e.category in ("retention", "legal"):
            for d in e.durations:
                seen.setdefault((d.days, d.unbounded), d)
    return list(seen.values())


def _subject(evidence: list[Evidence]) -> str:
    for e in evidence:
        for name in e.data_categories:
            if name not in _GENERIC:
                return name + " "
    return ""


@dataclass
class _Finding:
    severity: str
    # Order inside a severity: duration, polarity, opt-out, sensitive; then
    # removed, added, changed sentences, each in category order.
    rank: tuple[int, int]
    text: str
    category: str


class _Grader:
    """Collects findings about one change and turns them into severity and summary."""

    def __init__(self, language: str, old_text: str) -> None:
        self.data = language_data(language)
        self.sensitive = sensitive_names(self.data)
        self.old_text = old_text
        self._old_names: set[str] | None = None
        self.findings: list[_Finding] = []
        self.removed_opt_outs: list[str] = []

    def old_document_names(self) -> set[str]:
        if self._old_names is None:
            self._old_names = set()
            for sentence in split_sentences(self.old_text, self.data.code):
                self._old_names.update(data_categories(sentence, self.data))
        return self._old_names

    def add(self, severity: str, rank: int, text: str, category: str) -> None:
        order = CATEGORIES.index(category) if category in CATEGORIES else 0
        self.findings.append(_Finding(severity, (rank, order), text, category))

    def modified(self, old: str, new: str, old_ev: list[Evidence], new_ev: list[Evidence]) -> None:
        self.durations(old_ev, new_ev)
        old_by = {e.category: e for e in old_ev}
        new_by = {e.category: e for e in new_ev}
        flipped = False
        for category in order_categories(set(old_by) & set(new_by)):
            before, after = old_by[category].polarity, new_by[category].polarity
            if (before == "negated") != (after == "negated"):
                self.add("high", 1, f"{category}: '{_excerpt(old)}' → '{_excerpt(new)}'", category)
                flipped = True
        if any(e.opt == "opt-out" for e in old_ev) and not any(e.opt == "opt-out" for e in new_ev):
            if any(e.opt == "opt-in" for e in new_ev):
                self.add("high", 2, f"controls: opt-out replaced by opt-in: '{_excerpt(new)}'", "controls")
            else:
                self.removed_opt_outs.append(old)
        if not flipped:
            category = order_categories(set(old_by) | set(new_by))[0]
            self.add("medium", 6, f"{category}: '{_excerpt(new)}' changed", category)

    def removed(self, sentence: str, evidence: list[Evidence]) -> None:
        if any(e.opt == "opt-out" for e in evidence):
            self.removed_opt_outs.append(sentence)
        self.add("medium", 4, f"{evidence[0].category}: '{_excerpt(sentence)}' removed", evidence[0].category)

    def added(self, sentence: str, evidence: list[Evidence]) -> None:
        self.add("medium", 5, f"{evidence[0].category}: '{_excerpt(sentence)}' added", evidence[0].category)

    def opt_outs(self, new_ev: list[Evidence]) -> None:
        if self.removed_opt_outs and not any(e.opt == "opt-out" for e in new_ev):
            for sentence in self.removed_opt_outs:
                self.add("high", 2, f"controls: opt-out '{_excerpt(sentence)}' removed", "controls")

    def durations(self, old_ev: list[Evidence], new_ev: list[Evidence]) -> None:
        before = _duration_keys(old_ev)
        after = _duration_keys(new_ev)
        if {(d.days, d.unbounded) for d in before} != {(d.days, d.unbounded) for d in after} and (before or after):
            category = next((e.category for e in new_ev + old_ev if e.durations), "retention")
            subject = _subject([e for e in new_ev + old_ev if e.durations])
            self.add("high", 0, f"{category}: {subject}{_durations_label(before)} → {_durations_label(after)}", category)

    def new_sensitive(self, new_ev: list[Evidence]) -> None:
        named = {n for e in new_ev if e.category == "sensitive" for n in e.data_categories if n in self.sensitive}
        fresh = sorted(named - self.old_document_names())
        if fresh:
            self.add("high", 3, f"sensitive: new data categor{'y' if len(fresh) == 1 else 'ies'} {', '.join(fresh)}", "sensitive")

    def outcome(self) -> tuple[str, str]:
        if not self.findings:
            return "low", ""
        ordered = sorted(self.findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.rank))
        # A category already summarised by a high finding is not repeated as "changed" or "added".
        covered = {f.category for f in ordered if f.severity == "high"}
        texts = list(dict.fromkeys(f.text for f in ordered if f.severity == "high" or f.category not in covered))
        summary = "; ".join(texts[:_SUMMARY_ITEMS])
        if len(texts) > _SUMMARY_ITEMS:
            summary += f" (+{len(texts) - _SUMMARY_ITEMS} more)"
        return ordered[0].severity, summary


def _classified(sentence: str | None, language: str, side: str) -> list[Evidence]:
    if sentence is None or _is_bare_heading(sentence):
        return []
    return [e.with_side(side) for e in classify_sentence(sentence, language)]


def _analyse(changes: list[SentenceChange], language: str, old_text: str) -> ChangeAnalysis:
    grader = _Grader(language, old_text)
    evidence: list[Evidence] = []
    new_side: list[Evidence] = []
    unpaired_old: list[Evidence] = []
    unpaired_new: list[Evidence] = []
    for change in changes:
        old_ev = _classified(change.old, language, "old")
        new_ev = _classified(change.new, language, "new")
        if not old_ev and not new_ev:
            continue
        evidence.extend(old_ev)
        evidence.extend(new_ev)
        new_side.extend(new_ev)
        if change.old is not None and change.new is not None:
            grader.modified(change.old, change.new, old_ev, new_ev)
        elif change.old is not None:
            grader.removed(change.old, old_ev)
            unpaired_old.extend(old_ev)
        else:
            grader.added(change.new or "", new_ev)
            unpaired_new.extend(new_ev)
    # Periods in sentences removed here and added there (not paired as one
    # modified sentence) are compared as a whole.
    grader.durations(unpaired_old, unpaired_new)
    grader.opt_outs(new_side)
    grader.new_sensitive(new_side)
    severity, summary = grader.outcome()
    return ChangeAnalysis(
        kind="substantive",
        flags=order_categories([e.category for e in evidence]),
        evidence=tuple(evidence),
        summary=summary,
        severity=severity,
    )


def analyse_change(old_text: str, new_text: str, language: str = "en") -> ChangeAnalysis:
    """Kind, flags, evidence, one-line summary and severity of the change from ``old_text`` to ``new_text``."""
    if is_formatting_change(old_text, new_text):
        return FORMATTING
    changes = align_sentences(split_sentences(old_text, language), split_sentences(new_text, language))
    return _analyse(changes, language, old_text)
