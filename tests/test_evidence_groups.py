"""Evidence on a change page, grouped and ranked: tests/data/evidence_groups/cases.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.evidence_groups import SHOWN, evidence_items, group_evidence

CASES = yaml.safe_load((Path(__file__).resolve().parent / "data" / "evidence_groups" / "cases.yaml")
                       .read_text(encoding="utf-8"))["cases"]


def sentence(item: Any) -> str:
    return item.before + item.match + item.after


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_groups(case: dict[str, Any]) -> None:
    groups = group_evidence(evidence_items(case["entries"]), case.get("shown", SHOWN))
    got = [{g.category: [[sentence(i) for i in g.shown], [sentence(i) for i in g.folded]]} for g in groups]
    assert got == case["groups"]
    assert [g.count for g in groups] == [len(s) + len(f) for entry in case["groups"] for s, f in entry.values()]


def test_the_matched_words_are_kept_apart_for_highlighting() -> None:
    (item,) = evidence_items([{"category": "retention", "sentence": "We keep chats for 30 days.", "start": 3,
                               "end": 7, "side": "new", "polarity": "negated"}])
    assert (item.before, item.match, item.after, item.side, item.polarity) == ("We ", "keep", " chats for 30 days.",
                                                                              "new", "negated")
    (broken,) = evidence_items([{"category": "retention", "sentence": "Short.", "start": 3, "end": 99}])
    assert (broken.before, broken.match) == ("Short.", ""), "a span outside the sentence highlights nothing"


def test_a_period_is_the_value_of_the_retention_flag_only() -> None:
    sentence_text = "We keep chats for 90 days and share them with our processors."
    period = [{"days": 90, "text": "90 days"}]
    retention, sharing = evidence_items([{"category": "retention", "sentence": sentence_text, "durations": period},
                                         {"category": "sharing", "sentence": sentence_text, "durations": period}])
    assert retention.durations == ("90 days",) and sharing.durations == ()
