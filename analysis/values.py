"""Values read from a flagged sentence besides durations: opt-in/opt-out, the kinds of data and of recipients named."""

from __future__ import annotations

from analysis.prefilter import TriggerIndex
from analysis.rules import DataCategory, LanguageData
from analysis.vocabulary import Opt


def opt_kind(sentence: str, data: LanguageData) -> Opt | None:
    """``Opt.OPT_IN`` or ``Opt.OPT_OUT`` by the first opt phrase in the sentence, else ``None``."""
    opt_in = data.opt_in.search(sentence)
    opt_out = data.opt_out.search(sentence)
    if opt_in and opt_out:
        return Opt.OPT_IN if opt_in.start() < opt_out.start() else Opt.OPT_OUT
    if opt_in:
        return Opt.OPT_IN
    if opt_out:
        return Opt.OPT_OUT
    return None


def data_categories(sentence: str, data: LanguageData, lowered: str | None = None) -> tuple[str, ...]:
    """Names of the data categories in the sentence, in order of first mention.

    Overlapping mentions resolve to the longest, so "temporary chats" is not
    also counted as "chats".
    """
    return _named(sentence, data.data_categories, data.category_index, lowered)


def recipients(sentence: str, data: LanguageData, lowered: str | None = None) -> tuple[str, ...]:
    """Names of the kinds of recipients in the sentence ("third parties", "advertisers"), in order of first mention."""
    return _named(sentence, data.recipients, data.recipient_index, lowered)


def recipient_mentions(sentence: str, data: LanguageData) -> tuple[str, ...]:
    """The words naming each recipient, lower-cased ("law enforcement", "authorities"): two of one kind stay two."""
    return tuple(sentence[start:end].lower() for start, end, _ in _spans(sentence, data.recipients, data.recipient_index, None))


def value_spans(sentence: str, data: LanguageData) -> list[tuple[int, int]]:
    """Character spans of the data categories, recipients and periods the sentence names."""
    lowered = sentence.lower()
    spans: list[tuple[int, int]] = []
    for named, index in ((data.data_categories, data.category_index), (data.recipients, data.recipient_index)):
        candidates = index.candidates(lowered)
        for i, category in enumerate(named):
            if i in candidates:
                spans.extend(m.span() for m in category.pattern.finditer(sentence) if m.end() > m.start())
    spans.extend(m.span() for m in data.durations.pattern.finditer(sentence))
    return spans


def _named(sentence: str, named: tuple[DataCategory, ...], index: TriggerIndex, lowered: str | None) -> tuple[str, ...]:
    names: list[str] = []
    for _, _, name in _spans(sentence, named, index, lowered):
        if name not in names:
            names.append(name)
    return tuple(names)


def _spans(sentence: str, named: tuple[DataCategory, ...], index: TriggerIndex,
           lowered: str | None) -> list[tuple[int, int, str]]:
    """Non-overlapping mentions, the longest where they overlap, in order."""
    candidates = index.candidates(lowered if lowered is not None else sentence.lower())
    spans: list[tuple[int, int, str]] = []
    for index_, category in enumerate(named):
        if index_ not in candidates:
            continue
        for m in category.pattern.finditer(sentence):
            if m.end() > m.start():
                spans.append((m.start(), m.end(), category.name))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int, str]] = []
    last_end = -1
    for start, end, name in spans:
        if start < last_end:
            continue
        last_end = end
        kept.append((start, end, name))
    return kept


def sensitive_names(data: LanguageData) -> frozenset[str]:
    """Data-category names marked ``sensitive`` in the language file."""
    return frozenset(c.name for c in data.data_categories if c.sensitive)
