"""Is a news item about a tracked vendor's data practices? Pure functions on text.

An item is relevant when it names a vendor (OpenAI, ChatGPT, Sora, …) and a
topic (retention, training, sharing, controls, sensitive data, legal action,
or data protection in general) — both from declared rules, per language. The
check runs twice: on the feed's title and summary before anything is fetched,
and on the extracted article afterwards. Every verdict carries the matched
spans, so a reader can see why an article was kept.

The rules come in as a mapping (read from YAML by ``ingest.news``) and are
compiled here; this module reads no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterable, Mapping

from analysis.errors import as_written
from analysis.vocabulary import FlagCategory


class GeneralTopic(StrEnum):
    """Topics a news item can have besides the flag categories."""

    PRIVACY = "privacy"  # data protection in general: GDPR, personal data, privacy


TOPICS: tuple[str, ...] = tuple(FlagCategory) + tuple(GeneralTopic)

# A vendor and a topic this close in an article body are about each other.
BODY_WINDOW_CHARS = 500
# Text past this point is not searched: articles are far shorter, and the
# verdict never needs the end of an endless page.
MAX_FIELD_CHARS = 300_000
# Enough hits to show why; more say nothing new.
MAX_HITS_PER_PATTERN = 20
_FLAGS = re.IGNORECASE | re.UNICODE


class RelevanceRuleError(ValueError):
    """A relevance rule is malformed; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class VendorRule:
    vendor: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class TopicRule:
    topic: str
    language: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RelevanceRules:
    vendors: tuple[VendorRule, ...]
    topics: Mapping[str, tuple[TopicRule, ...]]  # by language

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.topics)


@dataclass(frozen=True)
class Hit:
    """One matched span: ``text[start:end]`` of the named field."""

    kind: str  # "vendor" or "topic"
    name: str  # the vendor, or the topic
    field: str  # "title", "summary" or "body"
    start: int
    end: int
    match: str
    language: str | None = None  # the topic rule's language; None for vendors


@dataclass(frozen=True)
class Relevance:
    vendors: tuple[str, ...]
    topics: tuple[str, ...]
    hits: tuple[Hit, ...]
    relevant: bool

    @property
    def names_vendor(self) -> bool:
        """A vendor is named even if no topic is: worth fetching when the budget allows."""
        return bool(self.vendors)


def _compile(patterns: Any, field: str, flags: int) -> re.Pattern[str]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise RelevanceRuleError(field, "expected a non-empty list of regular expressions")
    for i, p in enumerate(patterns):
        try:
            re.compile(p, flags)
        except re.error as exc:
            raise RelevanceRuleError(f"{field}[{i}]", f"bad regular expression {as_written(p)}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags)


def compile_rules(raw: Mapping[str, Any]) -> RelevanceRules:
    """Compile ``{vendors: [{vendor, patterns}], topics: {topic: {lang: [patterns]}}}``.

    Vendor patterns match case-sensitively (names are proper nouns: "Sora",
    not "sora"; write ``(?i:…)`` where case does not matter); topic patterns
    case-insensitively.
    """
    if not isinstance(raw, Mapping):
        raise RelevanceRuleError("relevance", "expected a mapping with 'vendors' and 'topics'")
    unknown = sorted(set(raw) - {"vendors", "topics"})
    if unknown:
        raise RelevanceRuleError("relevance", f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: vendors, topics")
    vendors_raw = raw.get("vendors")
    if not isinstance(vendors_raw, list) or not vendors_raw:
        raise RelevanceRuleError("vendors", "expected a non-empty list of {vendor, patterns}")
    vendors: list[VendorRule] = []
    for i, entry in enumerate(vendors_raw):
        where = f"vendors[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("vendor"), str) or not entry["vendor"].strip():
            raise RelevanceRuleError(where, "expected a mapping with a 'vendor' name and 'patterns'")
        extra = sorted(set(entry) - {"vendor", "patterns"})
        if extra:
            raise RelevanceRuleError(where, f"unknown key(s) {', '.join(map(repr, extra))}; allowed: vendor, patterns")
        vendors.append(VendorRule(entry["vendor"].strip(), _compile(entry.get("patterns"), f"{where}.patterns", re.UNICODE)))
    topics_raw = raw.get("topics")
    if not isinstance(topics_raw, Mapping) or not topics_raw:
        raise RelevanceRuleError("topics", "expected a mapping of topic to {language: patterns}")
    by_language: dict[str, list[TopicRule]] = {}
    for topic, per_language in topics_raw.items():
        if topic not in TOPICS:
            raise RelevanceRuleError(f"topics.{topic}", f"unknown topic; known: {', '.join(TOPICS)}")
        if not isinstance(per_language, Mapping) or not per_language:
            raise RelevanceRuleError(f"topics.{topic}", "expected a mapping of language code to patterns")
        for language, patterns in per_language.items():
            if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
                raise RelevanceRuleError(f"topics.{topic}", f"{language!r} is not a two-letter language code")
            pattern = _compile(patterns, f"topics.{topic}.{language}", _FLAGS)
            by_language.setdefault(language, []).append(TopicRule(str(topic), language, pattern))
    return RelevanceRules(tuple(vendors), {lang: tuple(rules) for lang, rules in by_language.items()})


def _find(pattern: re.Pattern[str], text: str) -> Iterable[re.Match[str]]:
    for count, m in enumerate(pattern.finditer(text)):
        if count >= MAX_HITS_PER_PATTERN:
            return
        if m.end() > m.start():
            yield m


def _topic_rules(rules: RelevanceRules, language: str | None) -> tuple[TopicRule, ...]:
    if language in rules.topics:
        return rules.topics[language]
    # An unknown or undeclared language: any language's vocabulary may apply.
    return tuple(rule for per_language in rules.topics.values() for rule in per_language)


def find_hits(rules: RelevanceRules, language: str | None, fields: Mapping[str, str]) -> tuple[Hit, ...]:
    """Every vendor and topic span in the given fields (field name → text), in field then text order."""
    hits: list[Hit] = []
    topic_rules = _topic_rules(rules, language)
    for field, text in fields.items():
        text = (text or "")[:MAX_FIELD_CHARS]
        found: list[Hit] = []
        for vendor in rules.vendors:
            found += [Hit("vendor", vendor.vendor, field, m.start(), m.end(), m.group()) for m in _find(vendor.pattern, text)]
        for topic in topic_rules:
            found += [Hit("topic", topic.topic, field, m.start(), m.end(), m.group(), topic.language)
                      for m in _find(topic.pattern, text)]
        hits += sorted(found, key=lambda h: (h.start, h.end, h.kind, h.name))
    return tuple(hits)


def _ordered(names: Iterable[str], order: Iterable[str]) -> tuple[str, ...]:
    present = set(names)
    return tuple(n for n in dict.fromkeys(order) if n in present)


def _verdict(hits: tuple[Hit, ...], rules: RelevanceRules, relevant: bool) -> Relevance:
    vendors = _ordered((h.name for h in hits if h.kind == "vendor"), (v.vendor for v in rules.vendors))
    topics = _ordered((h.name for h in hits if h.kind == "topic"), TOPICS)
    return Relevance(vendors, topics, hits, relevant)


def judge_candidate(rules: RelevanceRules, language: str | None, title: str, summary: str = "") -> Relevance:
    """Relevance from a feed item's title and summary: a vendor and a topic anywhere in them."""
    hits = find_hits(rules, language, {"title": title, "summary": summary})
    has_vendor = any(h.kind == "vendor" for h in hits)
    has_topic = any(h.kind == "topic" for h in hits)
    return _verdict(hits, rules, has_vendor and has_topic)


def judge_article(rules: RelevanceRules, language: str | None, title: str, body: str,
                  window: int = BODY_WINDOW_CHARS) -> Relevance:
    """Relevance from an extracted article.

    Relevant when the title names a vendor and the title or body names a topic,
    or when the body names a vendor and a topic within ``window`` characters of
    each other: a long article that mentions ChatGPT in passing and deletion
    elsewhere is not about ChatGPT deleting anything.
    """
    hits = find_hits(rules, language, {"title": title, "body": body})
    title_vendor = any(h.kind == "vendor" and h.field == "title" for h in hits)
    any_topic = any(h.kind == "topic" for h in hits)
    relevant = title_vendor and any_topic
    if not relevant:
        body_vendors = [h for h in hits if h.kind == "vendor" and h.field == "body"]
        body_topics = [h for h in hits if h.kind == "topic" and h.field == "body"]
        relevant = any(abs(v.start - t.start) <= window for v in body_vendors for t in body_topics)
    return _verdict(hits, rules, relevant)
