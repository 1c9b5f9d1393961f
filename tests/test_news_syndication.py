"""Syndicated copies: 5-word shingles, MinHash and LSH at 0.8.

Measured on the saved pages (texts from their golden JSON): the wire copy,
which adds a 16-word credit line to a 258-word story, scores 0.94 exact
Jaccard; replacing every 20th word (a 5 % edit) drops the story to 0.60,
every 50th word (2 %) to 0.82; the German correction edition, which rewrites
one paragraph and adds the notice, scores 0.50; unrelated stories 0.
"""

from __future__ import annotations

import json

import pytest

from analysis.syndication import (
    SyndicationIndex,
    build_index,
    estimated_similarity,
    jaccard,
    shingles,
    signature,
    signature_bytes,
    signature_from_bytes,
)
from news_support import NEWS_DATA


def text(name: str) -> str:
    return json.loads((NEWS_DATA / "golden" / f"{name}.json").read_text(encoding="utf-8"))["text"]


def edited(source: str, every: int) -> str:
    return " ".join(w if i % every != 7 else "edited" for i, w in enumerate(source.split()))


ORIGINAL = text("en-temporary-chats")


@pytest.mark.parametrize(("other", "low", "high"), [
    (text("en-temporary-chats.syndicated"), 0.93, 0.96),
    (text("en-temporary-chats.amp"), 1.0, 1.0),
    (edited(ORIGINAL, 20), 0.55, 0.65),
    (edited(ORIGINAL, 50), 0.78, 0.85),
    (text("en-offtopic"), 0.0, 0.0),
], ids=["wire copy", "AMP edition", "5% edit", "2% edit", "unrelated"])
def test_exact_similarity_figures(other: str, low: float, high: float) -> None:
    assert low <= jaccard(ORIGINAL, other) <= high


def test_the_estimate_stays_near_the_exact_figure() -> None:
    for other in (text("en-temporary-chats.syndicated"), edited(ORIGINAL, 20), edited(ORIGINAL, 50)):
        estimate = estimated_similarity(signature(ORIGINAL), signature(other))
        assert abs(estimate - jaccard(ORIGINAL, other)) < 0.1


def test_the_wire_copy_clusters_with_the_original_and_rewrites_do_not() -> None:
    index = build_index([
        ("ledger", signature(ORIGINAL)),
        ("courier", signature(text("en-temporary-chats.syndicated"))),
        ("rewrite", signature(edited(ORIGINAL, 20))),
        ("netzchronik", signature(text("de-fotos"))),
        ("netzchronik-corrected", signature(text("de-fotos-korrektur"))),
        ("offtopic", signature(text("en-offtopic"))),
    ])
    assert index.clusters() == [("courier", "ledger")]
    matches = index.matches(signature(ORIGINAL), exclude="ledger")
    assert [m.key for m in matches] == ["courier"] and matches[0].similarity > 0.9


def test_clusters_are_transitive_and_each_copy_keeps_its_key() -> None:
    base = " ".join(f"word{i}" for i in range(400))
    a, b, c = base, base + " tail one", base + " tail one two"
    index = SyndicationIndex()
    for key, value in (("a", a), ("b", b), ("c", c), ("z", "completely different text about something else entirely")):
        index.add(key, signature(value))
    assert index.clusters() == [("a", "b", "c")]
    assert len(index) == 4 and "z" in index


def test_signatures_round_trip_through_bytes() -> None:
    original = signature(ORIGINAL)
    data = signature_bytes(original)
    assert len(data) == 128 * 8
    restored = signature_from_bytes(data)
    assert estimated_similarity(original, restored) == 1.0
    assert (restored.hashvalues == original.hashvalues).all()
    with pytest.raises(ValueError, match="not a MinHash signature"):
        signature_from_bytes(b"\x00" * 13)


def test_shingles_ignore_case_and_punctuation() -> None:
    assert shingles("OpenAI keeps chats, for 30 days.") == shingles("openai KEEPS chats for 30 days")
    assert shingles("two words") == {"two words"}
    assert shingles("") == set() and jaccard("", "anything at all here") == 0.0
