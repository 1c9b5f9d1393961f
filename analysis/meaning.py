"""What a change between two versions means in flagged terms.

``analyse_change`` decides first whether a change is only formatting, then
whether it can be analysed at all, then aligns sentences, pairs the removed
and added sentences that speak of the same practice, classifies what changed
and grades the change.

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

Not analysed. A language without rules (``zh``), or a text whose letters are
mostly in another script than the declared language's, is never guessed at:
the change is ``substantive`` and ``low`` with ``analysed`` false and a note
("not analysed: no rules for zh") that is also its summary.

Incomplete. Each analysis has a budget (``analysis.budget``: steps or
time, given by the caller); past it the change is ``substantive`` and ``low``
with ``analysed`` false and the note "analysis incomplete: …", never a stall.

Units. Both versions are split into units (``analysis.sentences``): list
items, nested items and table-of-contents entries are units of their own;
headings and contents entries state nothing. A short line without sentence
punctuation (at most six words, such as "5. Retention") is read only through
the sentence that introduces its list, if any ("We share data with these
processors:" makes the item "Acme Analytics" a sharing statement).

Pairing. Sentences are aligned (``analysis.align``): moved sentences are no
change, and inside each replaced block similar sentences are one modified
sentence. Then removed and added sentences anywhere in the change are paired
when they are similar, or when they speak of the same practice: the same
category (retention, training, sharing, controls), the same practice of that
category (selling data is not disclosing it) and the same objects (the named
data categories overlap, or neither names one). A promise removed in one
section and the permission added in another are then one edit.

Severity:

- ``high``: in a paired sentence, a polarity flip (affirmative or hedged ↔
  negated: a promise turned into a permission), opt-in turned into opt-out
  (or opt-out into opt-in), or a different period for the same data; a
  removed negated statement about retention, training, sharing or sensitive
  data (a promise dropped, "we do not sell …") that no added sentence
  restates; an opt-out removed with no opt-out among the new sentences; a
  sensitive data category (images, faces, biometrics, voice, children,
  identity documents, health, precise location, special categories) named in
  new flagged text that the old version never named;
- ``medium``: any other flagged sentence added or removed, and a paired
  sentence whose edit touches a flagged category: the words a rule matched,
  its polarity or its values (periods, opt-in/out, data categories,
  recipients);
- ``low``: a substantive change without such flags: an edit elsewhere in a
  flagged sentence ("see this help center article" → "see this article", a
  product renamed) or a typo fix is a rewording and carries no flag;
- ``none``: formatting.

Periods are compared only within the same data category (old and new
periods for cookies are not compared with periods for chats).

Summary: at most three items, the most severe first, each quoting the
changed words with a little context (``sharing: '… with our affiliates'
added``, ``training: 'We will not use your inputs …' → 'We may use your
inputs …'``); what is left out is counted by category: "(+4 more: 2
sharing, 2 controls)".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from analysis.align import (
    PAIR_THRESHOLD,
    SentenceChange,
    align_sentences,
    pair_across,
    sentence_key,
    similarity,
    word_set,
)
from analysis.budget import UNBOUNDED, Budget, BudgetExceeded
from analysis.classify import classify_unit
from analysis.durations import extract_durations
from analysis.edits import Edit, compare
from analysis.evidence import CATEGORIES, Duration, Evidence, order_categories
from analysis.language import dominant_script
from analysis.plaintext import normalise_typography, word_sequence
from analysis.rules import LANGUAGES, LanguageData, language_data
from analysis.sentences import Unit, split_units
from analysis.values import data_categories, recipient_mentions, recipients, sensitive_names, value_spans
from analysis.vocabulary import ChangeKind, FlagCategory, Opt, Polarity, Severity

_TITLE_MAX_WORDS = 12
_TITLE_PUNCTUATION = re.compile(r"[.!?;:。！？；：]")
_HEADING_MAX_WORDS = 6
_SENTENCE_END = re.compile(r"[.!?;:]\W*$")
_EXCERPT_CHARS = 100
_EXCERPT_WORDS_BEFORE = 6
_EXCERPT_WORDS_AFTER = 8
_SUMMARY_ITEMS = 3
_MAX_DURATIONS_SHOWN = 3
# Below this word similarity, a pair is quoted whole rather than as a word diff.
_QUOTE_WHOLE_BELOW = 0.3
# Two statements of the same practice are one edit only if they also share some words.
_PRACTICE_MIN_SIMILARITY = 0.2
# Data categories too generic to name what a sentence is about in a summary.
_GENERIC = {"", "personal data", "content", "account information"}
# Too generic to tell two practices apart.
_GENERIC_OBJECTS = {"personal data"}
_PRACTICES = {FlagCategory.RETENTION, FlagCategory.TRAINING, FlagCategory.SHARING, FlagCategory.CONTROLS}
# A negated statement in these categories is a promise ("we do not sell …").
_PROMISES = {FlagCategory.RETENTION, FlagCategory.TRAINING, FlagCategory.SHARING, FlagCategory.SENSITIVE}
# The categories whose periods the severity rules compare; a period in a sentence flagged otherwise is not its value.
PERIOD_CATEGORIES = frozenset({FlagCategory.RETENTION, FlagCategory.LEGAL})
# A negation added or dropped in these categories is high. In controls it is not
# (a negation there usually bears on a verb near a feature's name: "temporary
# chats will not appear"); a control's change shows in its opt-in/opt-out.
_FLIPS = _PROMISES | {FlagCategory.LEGAL}
# Categories whose statements an opt-in or opt-out qualifies.
_OPT_VALUED = {FlagCategory.CONTROLS, FlagCategory.TRAINING, FlagCategory.SHARING}
_LATIN = {"en", "de", "fr"}


@dataclass(frozen=True)
class ChangeAnalysis:
    """The meaning of one change.

    JSON form (``to_json``): ``kind`` ("formatting" | "substantive"),
    ``flags`` (categories), ``evidence`` (list of ``Evidence.to_json()``,
    each with ``side`` "old" or "new"), ``summary`` (one line; "" when
    nothing is flagged, "formatting only" for formatting), ``severity``
    ("high" | "medium" | "low" | "none"), ``analysed`` (false when the
    language has no rules or the text is not in it) and ``note`` (why it was
    not analysed, "" otherwise).
    """

    kind: str
    flags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    summary: str
    severity: str
    analysed: bool = True
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "flags": list(self.flags),
            "evidence": [e.to_json() for e in self.evidence],
            "summary": self.summary,
            "severity": self.severity,
            "analysed": self.analysed,
            "note": self.note,
        }


FORMATTING = ChangeAnalysis(
    kind=ChangeKind.FORMATTING, flags=(), evidence=(), summary="formatting only", severity=Severity.NONE
)


def not_analysed(reason: str) -> ChangeAnalysis:
    """A substantive change that was not analysed, saying why."""
    return _unanalysed(f"not analysed: {reason}")


def analysis_incomplete(budget: Budget) -> ChangeAnalysis:
    """A substantive change whose analysis went past its budget."""
    return _unanalysed(f"analysis incomplete: it needed more than its budget of {budget.describe()}")


def _unanalysed(note: str) -> ChangeAnalysis:
    return ChangeAnalysis(
        kind=ChangeKind.SUBSTANTIVE, flags=(), evidence=(), summary=note, severity=Severity.LOW, analysed=False, note=note
    )


def _title_line(text: str) -> tuple[str, str] | None:
    """(title line, rest) when the first non-blank line looks like a page title."""
    stripped = text.lstrip()
    first, _, rest = stripped.partition("\n")
    plain = normalise_typography(first).strip().lstrip("#").strip()
    words = word_sequence(plain)
    if not words or len(words) > _TITLE_MAX_WORDS or _TITLE_PUNCTUATION.search(plain):
        return None
    return first, rest


# What can open markup that runs across a line break (links, emphasis, code, tags, escapes, the
# "(opens in a new window)" note): a first line without any of these has the same words on its own as at
# the head of its text.
_SPANNING_MARKUP = re.compile(r"[\[*_`<~(\\]")


def _body_words(text: str, words: list[str]) -> list[str] | None:
    """The words of ``text`` after its title line (``words``: those of the whole text), or None without one."""
    title = _title_line(text)
    if title is None:
        return None
    first, rest = title
    if not _SPANNING_MARKUP.search(first):
        head = word_sequence(first)
        if words[:len(head)] == head:
            return words[len(head):]
    return word_sequence(rest)


def is_formatting_change(old_text: str, new_text: str) -> bool:
    """True when the two texts differ only in formatting or in a page-title line (see module doc)."""
    old_words = word_sequence(old_text)
    new_words = word_sequence(new_text)
    if old_words == new_words:
        return True
    old_body = _body_words(old_text, old_words)
    new_body = _body_words(new_text, new_words)
    return (
        (old_body is not None and old_body == new_words)
        or (new_body is not None and new_body == old_words)
        or (old_body is not None and new_body is not None and old_body == new_body)
    )


_WORD_SPAN = re.compile(r"\S+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+")


def _excerpt(sentence: str, evidence: Evidence | None = None) -> str:
    """The sentence, or the words around the evidence's match when the sentence is long."""
    if len(sentence) <= _EXCERPT_CHARS:
        return sentence
    if evidence is None or evidence.end <= evidence.start or evidence.end - evidence.start > _EXCERPT_CHARS:
        cut = sentence[:_EXCERPT_CHARS].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + " …"
    spans = [m.span() for m in _WORD_SPAN.finditer(sentence)]
    first = next(i for i, (_, end) in enumerate(spans) if end > evidence.start)
    last = max(i for i, (begin, _) in enumerate(spans) if begin < evidence.end)
    low = max(0, first - _EXCERPT_WORDS_BEFORE)
    high = min(len(spans) - 1, last + _EXCERPT_WORDS_AFTER)
    text = sentence[spans[low][0] : spans[high][1]]
    if low > 0:
        text = "… " + text
    if high < len(spans) - 1:
        text = text.rstrip(",;:") + " …"
    return text


def _durations_label(durations: list[Duration]) -> str:
    if not durations:
        return "no stated period"
    shown = ", ".join(d.label() for d in durations[:_MAX_DURATIONS_SHOWN])
    return shown + ", …" if len(durations) > _MAX_DURATIONS_SHOWN else shown


def _duration_keys(evidence: list[Evidence]) -> list[Duration]:
    seen: dict[tuple[float | None, bool], Duration] = {}
    for e in evidence:
        if e.category in PERIOD_CATEGORIES:
            for d in e.durations:
                seen.setdefault((d.days, d.unbounded), d)
    return list(seen.values())


def _subject(evidence: list[Evidence]) -> str:
    for e in evidence:
        for name in e.data_categories:
            if name not in _GENERIC:
                return name + " "
    return ""


def _objects(evidence: Evidence) -> frozenset[str]:
    return frozenset(evidence.data_categories) - _GENERIC_OBJECTS


@dataclass
class _Finding:
    severity: Severity
    # Order inside a severity: statements with values (periods, opt-in/out, a
    # negation) before plain ones (``weight``), then by ``rank``: duration,
    # polarity, opt, sensitive, dropped promise; removed, added, changed.
    rank: int
    weight: int
    position: int
    text: str
    category: str

    def key(self) -> tuple[int, int, int, int, int]:
        order = CATEGORIES.index(self.category) if self.category in CATEGORIES else 0
        return self.severity.rank, self.weight, self.rank, order, self.position


def _weight(evidence: list[Evidence]) -> int:
    return 0 if any(e.durations or e.opt or e.polarity == Polarity.NEGATED for e in evidence) else 1


class _Grader:
    """Collects findings about one change and turns them into severity and summary."""

    def __init__(self, data: LanguageData, old_units: list[Unit], sides: _Sides) -> None:
        self.data = data
        self.sides = sides
        self.sensitive = sensitive_names(data)
        self.old_units = old_units
        self._old_names: set[str] | None = None
        self.findings: list[_Finding] = []
        self.removed_opt_outs: list[tuple[int, str]] = []
        self.meaningful = re.compile(f"{data.negation.pattern}|{data.hedges.pattern}", data.negation.flags)

    def old_document_names(self) -> set[str]:
        if self._old_names is None:
            self._old_names = set()
            for unit in self.old_units:
                self._old_names.update(data_categories(unit.text, self.data))
        return self._old_names

    def is_promise(self, evidence: Evidence) -> bool:
        """A negated statement by the service about what happens to data ("we do not sell your data …"), not a rule for users."""
        if evidence.polarity != Polarity.NEGATED or evidence.category not in _PROMISES or not evidence.data_categories:
            return False
        if self.data.user_rule is not None and self.data.user_rule.search(evidence.sentence):
            return False
        return self.data.promise is None or bool(self.data.promise.search(evidence.sentence))

    def add(self, severity: Severity, rank: int, text: str, category: str, position: int, weight: int = 1) -> None:
        self.findings.append(_Finding(severity, rank, weight, position, text, category))

    def pair(self, position: int, old: str, new: str, old_ev: list[Evidence], new_ev: list[Evidence]) -> list[Evidence]:
        """Grade a modified (or practice-paired) sentence; the evidence of the categories its edit touches."""
        edit = compare(old, new)
        if not edit.hunks or edit.is_typo_fix(self.meaningful):
            return []
        whole = similarity(word_set(old), word_set(new)) < _QUOTE_WHOLE_BELOW
        old_by = {e.category: e for e in old_ev}
        new_by = {e.category: e for e in new_ev}
        kept: list[Evidence] = []
        flipped = False
        periods_done = False
        for category in order_categories(set(old_by) | set(new_by)):
            before, after = old_by.get(category), new_by.get(category)
            if before is not None and after is not None:
                if not self._touched(edit, before, after):
                    continue
                kept += [before, after]
                if category in _FLIPS and (before.polarity == Polarity.NEGATED) != (after.polarity == Polarity.NEGATED):
                    quote = self._quote(edit, whole, before, after, as_change=True)
                    self.add(Severity.HIGH, 1, f"{category}: {quote}", category, position, 0)
                    flipped = True
                elif category in PERIOD_CATEGORIES and not periods_done and self._periods_differ([before], [after]):
                    periods_done = True
                    self._period_finding([before], [after], position)
                else:
                    quote = self._quote(edit, whole, before, after)
                    self.add(Severity.MEDIUM, 6, f"{category}: {quote}", category, position, _weight([before, after]))
            elif before is not None:
                kept.append(before)
                if self.is_promise(before):
                    self.add(Severity.HIGH, 4, f"{category}: '{_excerpt(old, before)}' → '{_excerpt(new)}'", category, position, 0)
                else:
                    self.add(Severity.MEDIUM, 6, f"{category}: {self._quote(edit, whole, before, None)}", category, position,
                             _weight([before]))
            elif after is not None:
                kept.append(after)
                self.add(Severity.MEDIUM, 6, f"{category}: {self._quote(edit, whole, None, after)}", category, position,
                         _weight([after]))
        if kept:
            self._opt_change(position, old, new, edit, whole, old_ev, new_ev, flipped)
        return kept

    def _touched(self, edit: Edit, before: Evidence, after: Evidence) -> bool:
        if before.polarity != after.polarity:
            return True
        if before.category in _OPT_VALUED and before.opt != after.opt:
            return True
        if before.category in PERIOD_CATEGORIES and (
            {(d.days, d.unbounded) for d in before.durations} != {(d.days, d.unbounded) for d in after.durations}
        ):
            return True
        # Values named inside a web address ("…/subprocessors") are no values of the sentence.
        old_text, new_text = _URL.sub(" ", before.sentence), _URL.sub(" ", after.sentence)
        if set(data_categories(old_text, self.data)) != set(data_categories(new_text, self.data)):
            return True
        if before.category == FlagCategory.SHARING and set(recipient_mentions(old_text, self.data)) != set(
            recipient_mentions(new_text, self.data)
        ):
            return True
        return edit.touches((before.start, before.end), (after.start, after.end))

    def _important(self, words: str) -> bool:
        """Whether changed words carry a value: a number, a negation or hedge, a kind of data or recipient."""
        return bool(
            re.search(r"\d", words)
            or self.meaningful.search(words)
            or data_categories(words, self.data)
            or recipients(words, self.data)
        )

    def _quote(self, edit: Edit, whole: bool, before: Evidence | None, after: Evidence | None, as_change: bool = False) -> str:
        if whole:
            return f"'{_excerpt(edit.old, before)}' → '{_excerpt(edit.new, after)}'"
        if as_change:
            # A flip is quoted where the negation or hedge changed.
            flip = next((h for h in edit.hunks if any(self.meaningful.search(w) for w in edit.changed_words(h) if w)), None)
            if flip is not None:
                return edit.quote(flip, as_change)
        hunk = edit.main_hunk(
            (before.start, before.end) if before else None,
            (after.start, after.end) if after else None,
            self._important,
            value_spans(edit.old, self.data),
            value_spans(edit.new, self.data),
        )
        return edit.quote(hunk, as_change)

    def _opt_change(self, position: int, old: str, new: str, edit: Edit, whole: bool, old_ev: list[Evidence],
                    new_ev: list[Evidence], flipped: bool) -> None:
        before = {e.opt for e in old_ev if e.opt}
        after = {e.opt for e in new_ev if e.opt}
        if Opt.OPT_OUT in before and Opt.OPT_OUT not in after:
            if Opt.OPT_IN in after:
                self.add(Severity.HIGH, 2, f"controls: opt-out replaced by opt-in: '{_excerpt(new)}'", FlagCategory.CONTROLS, position, 0)
            else:
                self.removed_opt_outs.append((position, old))
        elif Opt.OPT_IN in before and Opt.OPT_IN not in after and Opt.OPT_OUT in after:
            self.add(Severity.HIGH, 2, f"controls: opt-in → opt-out: {self._quote(edit, whole, None, None)}", FlagCategory.CONTROLS,
                     position, 0)

    def removed(self, position: int, sentence: str, evidence: list[Evidence]) -> None:
        if any(e.opt == Opt.OPT_OUT for e in evidence):
            self.removed_opt_outs.append((position, sentence))
        promise = next((e for e in evidence if self.is_promise(e)), None)
        if promise is not None:
            self.add(Severity.HIGH, 4, f"{promise.category}: '{_excerpt(sentence, promise)}' removed", promise.category,
                     position, 0)
        else:
            first = evidence[0]
            self.add(Severity.MEDIUM, 4, f"{first.category}: '{_excerpt(sentence, first)}' removed", first.category,
                     position, _weight(evidence))

    def added(self, position: int, sentence: str, evidence: list[Evidence]) -> None:
        first = evidence[0]
        self.add(Severity.MEDIUM, 5, f"{first.category}: '{_excerpt(sentence, first)}' added", first.category, position,
                 _weight(evidence))

    def opt_outs(self, new_ev: list[Evidence]) -> None:
        if self.removed_opt_outs and not any(e.opt == Opt.OPT_OUT for e in new_ev):
            for position, sentence in self.removed_opt_outs:
                self.add(Severity.HIGH, 2, f"controls: opt-out '{_excerpt(sentence)}' removed", FlagCategory.CONTROLS, position, 0)

    @staticmethod
    def _periods_differ(before: list[Evidence], after: list[Evidence]) -> bool:
        old_keys = {(d.days, d.unbounded) for d in _duration_keys(before)}
        new_keys = {(d.days, d.unbounded) for d in _duration_keys(after)}
        return old_keys != new_keys and bool(old_keys or new_keys)

    def _period_finding(self, before: list[Evidence], after: list[Evidence], position: int) -> None:
        category = next((e.category for e in after + before if e.durations), FlagCategory.RETENTION)
        subject = _subject([e for e in after + before if e.durations])
        self.add(Severity.HIGH, 0, f"{category}: {subject}{_durations_label(_duration_keys(before))} → "
                 f"{_durations_label(_duration_keys(after))}", category, position, 0)

    def periods_by_category(self, removed: list[tuple[int, Evidence]], added: list[tuple[int, Evidence]]) -> None:
        """Periods in sentences removed here and added there, compared within each data category."""
        def grouped(items: list[tuple[int, Evidence]]) -> dict[str, list[tuple[int, Evidence]]]:
            groups: dict[str, list[tuple[int, Evidence]]] = {}
            for position, e in items:
                if e.category in PERIOD_CATEGORIES and e.durations:
                    for name in (e.data_categories or ("",)):
                        groups.setdefault(name, []).append((position, e))
            return groups

        old_groups, new_groups = grouped(removed), grouped(added)
        reported: set[tuple[tuple[float | None, bool], ...]] = set()
        # A period dropped (or introduced) for named data the other version gives no period for at all.
        for name in old_groups.keys() - new_groups.keys():
            if name not in _GENERIC and not self.sides.has_period("new", name):
                self._period_finding([e for _, e in old_groups[name]], [], min(p for p, _ in old_groups[name]))
        for name in new_groups.keys() - old_groups.keys():
            if name not in _GENERIC and not self.sides.has_period("old", name):
                self._period_finding([], [e for _, e in new_groups[name]], min(p for p, _ in new_groups[name]))
        for name in old_groups.keys() & new_groups.keys():
            before = [e for _, e in old_groups[name]]
            after = [e for _, e in new_groups[name]]
            if self._periods_differ(before, after):
                key = tuple(sorted((d.days or -1.0, d.unbounded) for d in _duration_keys(before) + _duration_keys(after)))
                if key not in reported:
                    reported.add(key)  # type: ignore[arg-type]
                    self._period_finding(before, after, min(p for p, _ in new_groups[name]))

    def new_sensitive(self, new_ev: list[Evidence]) -> None:
        named = {n for e in new_ev if e.category == FlagCategory.SENSITIVE for n in e.data_categories if n in self.sensitive}
        if not named:
            return
        fresh = sorted(named - self.old_document_names())
        if fresh:
            self.add(Severity.HIGH, 3, f"sensitive: new data categor{'y' if len(fresh) == 1 else 'ies'} {', '.join(fresh)}",
                     FlagCategory.SENSITIVE, 0, 0)

    def outcome(self) -> tuple[Severity, str]:
        if not self.findings:
            return Severity.LOW, ""
        ordered = sorted(self.findings, key=_Finding.key)
        # A category already summarised by a high finding is not repeated as "changed" or "added".
        covered = {f.category for f in ordered if f.severity == Severity.HIGH}
        shown: dict[str, str] = {}
        for f in ordered:
            if f.severity == Severity.HIGH or f.category not in covered:
                shown.setdefault(f.text, f.category)
        texts = list(shown)
        summary = "; ".join(texts[:_SUMMARY_ITEMS])
        hidden = Counter(shown[t] for t in texts[_SUMMARY_ITEMS:])
        if hidden:
            counts = ", ".join(f"{hidden[c]} {c}" for c in CATEGORIES if c in hidden)
            summary += f" (+{sum(hidden.values())} more: {counts})"
        return ordered[0].severity, summary


class _Sides:
    """Units of both versions with their evidence, computed once per unit."""

    def __init__(self, language: str, old_units: list[Unit], new_units: list[Unit], budget: Budget = UNBOUNDED) -> None:
        self.language = language
        self.budget = budget
        self.units = {"old": old_units, "new": new_units}
        self._evidence: dict[tuple[str, int], list[Evidence]] = {}
        self.keys = {side: [sentence_key(u.text) for u in units] for side, units in self.units.items()}
        self._words: dict[tuple[str, int], frozenset[str]] = {}
        self._periods: dict[tuple[str, str], bool] = {}
        self.practice = {rule.id: rule.practice for rule in language_data(language).rules}

    def evidence(self, side: str, index: int) -> list[Evidence]:
        key = (side, index)
        if key not in self._evidence:
            self.budget.spend()
            unit = self.units[side][index]
            found = classify_unit(unit, self.language)
            if found and self._bare(side, index):
                # A title-like line states nothing of its own; only its list's lead-in speaks for it.
                found = tuple(e for e in found if e.lead is not None)
            self._evidence[key] = [e.with_side(side) for e in found]
        return self._evidence[key]

    def _bare(self, side: str, index: int) -> bool:
        """A title-like line: at most six words and no sentence punctuation at its end."""
        key = self.keys[side][index]
        return key.count(" ") < _HEADING_MAX_WORDS and not _SENTENCE_END.search(self.units[side][index].text)

    def has_period(self, side: str, name: str) -> bool:
        """Whether a version names a period anywhere in a sentence about the named data category.

        Any sentence counts, flagged or not: the question is whether the
        period is new to that data, not which rule read it.
        """
        key = (side, name)
        if key not in self._periods:
            data = language_data(self.language)
            category = next((c for c in data.data_categories if c.name == name), None)
            self._periods[key] = category is not None and any(
                category.pattern.search(unit.text) and extract_durations(unit.text, data.durations)
                for unit in self.units[side]
            )
        return self._periods[key]

    def words(self, side: str, index: int) -> frozenset[str]:
        key = (side, index)
        if key not in self._words:
            self._words[key] = frozenset(self.keys[side][index].split())
        return self._words[key]

    def same_practice(self, old_index: int, new_index: int) -> bool:
        for before in self.evidence("old", old_index):
            if before.category not in _PRACTICES:
                continue
            for after in self.evidence("new", new_index):
                if after.category != before.category:
                    continue
                if self.practice.get(before.rule_id) != self.practice.get(after.rule_id):
                    continue
                old_objects, new_objects = _objects(before), _objects(after)
                if (old_objects & new_objects) or (not old_objects and not new_objects):
                    return True
        return False

    def score(self, removed: SentenceChange, added: SentenceChange) -> float:
        assert removed.old_index is not None and added.new_index is not None
        # Pairing outside a replaced block matters only for what is flagged.
        if not self.evidence("old", removed.old_index) and not self.evidence("new", added.new_index):
            return 0.0
        lexical = similarity(self.words("old", removed.old_index), self.words("new", added.new_index))
        if lexical >= PAIR_THRESHOLD:
            return 1.0 + lexical
        if lexical >= _PRACTICE_MIN_SIMILARITY and self.same_practice(removed.old_index, added.new_index):
            return 0.5 + lexical / 2
        return 0.0


def _language_problem(old_text: str, new_text: str, language: str) -> str | None:
    if language not in LANGUAGES:
        return f"no rules for {language or 'an undeclared language'}"
    if language in _LATIN:
        script = dominant_script(new_text) or dominant_script(old_text)
        if script is not None and script != "Latin":
            return f"the text is in {script} script, not {language}"
    return None


def analyse_change(old_text: str, new_text: str, language: str = "en", budget: Budget = UNBOUNDED) -> ChangeAnalysis:
    """Kind, flags, evidence, one-line summary and severity of the change from ``old_text`` to ``new_text``;
    ``analysis_incomplete`` past ``budget``."""
    if is_formatting_change(old_text, new_text):
        return FORMATTING
    problem = _language_problem(old_text, new_text, language)
    if problem is not None:
        return not_analysed(problem)
    try:
        return _analyse(old_text, new_text, language, budget)
    except BudgetExceeded:
        return analysis_incomplete(budget)


def _analyse(old_text: str, new_text: str, language: str, budget: Budget) -> ChangeAnalysis:
    old_units = split_units(old_text, language)
    new_units = split_units(new_text, language)
    budget.spend(len(old_units) + len(new_units))
    sides = _Sides(language, old_units, new_units, budget)
    changes = align_sentences([u.text for u in old_units], [u.text for u in new_units], sides.keys["old"], sides.keys["new"],
                              budget)
    changes = pair_across(changes, sides.score, budget)
    grader = _Grader(language_data(language), old_units, sides)
    evidence: list[Evidence] = []
    new_side: list[Evidence] = []
    unpaired_old: list[tuple[int, Evidence]] = []
    unpaired_new: list[tuple[int, Evidence]] = []
    for position, change in enumerate(changes):
        budget.spend(1 + (len(change.old or "") + len(change.new or "")) // 500)
        old_ev = sides.evidence("old", change.old_index) if change.old_index is not None else []
        new_ev = sides.evidence("new", change.new_index) if change.new_index is not None else []
        if not old_ev and not new_ev:
            continue
        if change.old is not None and change.new is not None:
            kept = grader.pair(position, change.old, change.new, old_ev, new_ev)
            evidence.extend(kept)
            new_side.extend(e for e in kept if e.side == "new")
        elif change.old is not None:
            grader.removed(position, change.old, old_ev)
            evidence.extend(old_ev)
            unpaired_old.extend((position, e) for e in old_ev)
        else:
            grader.added(position, change.new or "", new_ev)
            evidence.extend(new_ev)
            new_side.extend(new_ev)
            unpaired_new.extend((position, e) for e in new_ev)
    grader.periods_by_category(unpaired_old, unpaired_new)
    grader.opt_outs(new_side)
    grader.new_sensitive(new_side)
    severity, summary = grader.outcome()
    return ChangeAnalysis(
        kind=ChangeKind.SUBSTANTIVE,
        flags=order_categories([e.category for e in evidence]),
        evidence=tuple(evidence),
        summary=summary,
        severity=severity,
    )
