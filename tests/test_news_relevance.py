"""Relevance of news items: a vendor and a topic, from declared rules, per language, with spans."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from analysis.relevance import RelevanceRuleError, compile_rules, judge_article, judge_candidate
from news_support import NEWS_DATA, config

CASES = yaml.safe_load((NEWS_DATA / "relevance.yaml").read_text(encoding="utf-8"))["candidates"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["title"][:40])
def test_candidates(case: dict[str, Any]) -> None:
    verdict = judge_candidate(config().relevance, case["language"], case["title"], case["summary"])
    assert verdict.relevant is case["relevant"]
    assert list(verdict.vendors) == case["vendors"]
    assert list(verdict.topics) == case["topics"]


def test_hits_carry_their_field_and_span() -> None:
    title, summary = "Was ChatGPT mit hochgeladenen Fotos macht", "OpenAI speichert hochgeladene Bilder."
    verdict = judge_candidate(config().relevance, "de", title, summary)
    for hit in verdict.hits:
        text = title if hit.field == "title" else summary
        assert text[hit.start:hit.end] == hit.match
    assert [(h.field, h.match) for h in verdict.hits if h.kind == "vendor"] == [("title", "ChatGPT"), ("summary", "OpenAI")]
    assert ("summary", "speichert", "de") in [(h.field, h.match, h.language) for h in verdict.hits if h.kind == "topic"]


def test_in_a_body_the_vendor_and_the_topic_must_be_near_each_other() -> None:
    filler = " ".join(["The council met on Tuesday to discuss the budget."] * 30)
    far = "ChatGPT was mentioned once. " + filler + " Residents asked how long the city keeps records of parking data."
    near = filler + " OpenAI said it deletes temporary chats after 30 days. " + filler
    rules = config().relevance
    assert not judge_article(rules, "en", "Council budget", far).relevant
    assert judge_article(rules, "en", "Council budget", near).relevant
    # A vendor in the headline makes any topic in the body count.
    assert judge_article(rules, "en", "What ChatGPT means for the council", far).relevant


@pytest.mark.parametrize(("raw", "field"), [
    ({"vendors": [], "topics": {"retention": {"en": ["x"]}}}, "vendors"),
    ({"vendors": [{"vendor": "X", "patterns": ["("]}], "topics": {"retention": {"en": ["x"]}}}, "vendors[0].patterns[0]"),
    ({"vendors": [{"vendor": "X", "patterns": ["x"]}], "topics": {"weather": {"en": ["x"]}}}, "topics.weather"),
    ({"vendors": [{"vendor": "X", "patterns": ["x"]}], "topics": {"retention": {"english": ["x"]}}}, "topics.retention"),
    ({"vendors": [{"vendor": "X", "patterns": ["x"]}], "topics": {"retention": {"en": []}}}, "topics.retention.en"),
    ({"vendors": [{"vendor": "X", "patterns": ["x"], "colour": "red"}], "topics": {"retention": {"en": ["x"]}}},
     "vendors[0]"),
])
def test_malformed_rules_name_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(RelevanceRuleError) as caught:
        compile_rules(raw)
    assert caught.value.field == field
