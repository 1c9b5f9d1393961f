"""Pure rules of the news record, as data: what of an article may be quoted, and when it is fetched again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from analysis.quotes import QUOTE_MAX_CHARS, quotes
from ingest.news.schedule import is_due, next_check
from news_support import NEWS_DATA

QUOTES = yaml.safe_load((NEWS_DATA / "quotes.yaml").read_text(encoding="utf-8"))["cases"]
SCHEDULE = yaml.safe_load((NEWS_DATA / "schedule.yaml").read_text(encoding="utf-8"))["cases"]
T0 = datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)


def marked(quote: Any) -> str:
    return "".join(f"[{p.text}]" if p.matched else p.text for p in quote.pieces)


@pytest.mark.parametrize("case", QUOTES, ids=[c["name"] for c in QUOTES])
def test_quotes(case: dict[str, Any]) -> None:
    found = quotes(case["evidence"], case["words"])
    assert [marked(q) for q in found] == case["quoted"]
    assert all(len(q.sentence) <= QUOTE_MAX_CHARS + 2 for q in found)
    if "categories" in case:
        assert [list(q.categories) for q in found] == case["categories"]


@pytest.mark.parametrize("case", SCHEDULE, ids=[c["name"] for c in SCHEDULE])
def test_refetch_schedule(case: dict[str, Any]) -> None:
    now = T0 + timedelta(hours=case["now"])
    expected = None if case["next"] is None else T0 + timedelta(hours=case["next"])
    assert next_check(T0, now) == expected
    if expected is not None:
        assert not is_due(expected, now) and is_due(expected, expected)


def test_the_sentences_that_mention_a_claim_and_the_flagged_ones_share_one_budget() -> None:
    from analysis.quotes import QuoteBudget

    budget = QuoteBudget(article_words=30)  # at most 10 words quoted, the first quotation always
    mention = "Temporary chats are deleted after 30 days."
    assert budget.admit(mention) and budget.admit(mention), "the first quotation, and again at no cost"
    assert not budget.admit("Another sentence of the article that is far too long to fit.")
    assert budget.admit("Short one.")
    flagged = [{"sentence": mention, "category": "retention", "start": 0, "end": 15},
               {"sentence": "We keep your chats for 90 days.", "category": "retention", "start": 0, "end": 5}]
    assert [q.sentence for q in quotes(flagged, 30, budget=budget)] == [mention], \
        "a flagged sentence already quoted as a mention is free; the others no longer fit"
    assert len(QuoteBudget(None, max_quotes=2).quoted) == 0
    many = QuoteBudget(None, max_quotes=2)
    assert [many.admit(s) for s in ("a.", "b.", "c.")] == [True, True, False]
