"""Finding the claims a press sentence mentions and its stance (tests/data/claims/mention_stance.yaml), stale
repetition, and the time bound."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from analysis.claims import ClaimStatus
from analysis.claims.compile import compile_language_condition
from analysis.claims.mentions import decide_stance, find_mentions, is_stale, mention_fingerprint
from analysis.claims.model import Claim
from analysis.claims.vocabulary import Stance
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims
from policywatch.commands.demo import PAGES
from storage.news_queries import appeared

DATA = Path(__file__).parent / "data" / "claims"
CLAIMS = {"bundled": load_claims(BUNDLED_CLAIMS), "demo": load_claims(PAGES / "claims.yaml")}
CASES = yaml.safe_load((DATA / "mention_stance.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c['language']}-{i}" for i, c in enumerate(CASES)])
def test_mentions_and_stance(case: dict) -> None:
    found = find_mentions(CLAIMS[case["claims"]], [case["sentence"]], case["language"])
    assert found.timed_out == ()
    got = {m.claim_id: m for m in found.mentions}
    assert set(got) == set(case["mentions"]), case["sentence"]
    for claim_id, expected in case["mentions"].items():
        mention = got[claim_id]
        assert mention.stance == Stance(expected["stance"]), (case["sentence"], mention.cue)
        assert mention.sentence == case["sentence"] and mention.index == 0
        start, end = mention.span
        if "words" in expected:
            assert case["sentence"][start:end] == expected["words"]
        if "cue" in expected:
            assert mention.cue == expected["cue"]


def test_sentences_keep_their_place_in_the_article() -> None:
    sentences = ["Nimbus AI opened an office.", "Temporäre Chats werden nach 30 Tagen gelöscht.", "Mehr nicht."]
    found = find_mentions(CLAIMS["demo"], sentences, "de-AT")
    assert [(m.index, m.claim_id) for m in found.mentions] == [(1, "nimbus/temporary-chats-deleted-after-30-days")]


def test_a_language_without_cues_repeats() -> None:
    assert decide_stance("Contrary to this, x.", (0, 1), "it").stance is Stance.REPEATS


@pytest.mark.parametrize(("stance", "status", "stale"), [
    ("repeats", "no_longer_stated", True), ("repeats", "contradicted", True), ("repeats", "weakened", True),
    ("repeats", "supported", False), ("repeats", "unverified", False), ("repeats", "conflicting", False),
    ("repeats", None, False), ("reports", "no_longer_stated", False), ("disputes", "contradicted", False)])
def test_stale_repetition(stance: str, status: str | None, stale: bool) -> None:
    assert is_stale(stance, None if status is None else ClaimStatus(status)) is stale


def _claim(pattern: str) -> Claim:
    condition, spec = compile_language_condition({"patterns": [pattern]}, "mentions.en")
    return Claim(id="t/slow", vendor="T", statement={"en": "S"}, matchers=(), mentions={"en": condition},
                 mention_spec={"en": spec})


def test_a_claim_that_runs_out_of_time_has_no_mentions_in_that_article() -> None:
    slow, fine = _claim(r"(?:a|a)+b"), _claim(r"\bkept\b")
    fine = Claim(**{**fine.__dict__, "id": "t/fine"})
    sentences = ["a" * 2500 + " kept", "kept"]
    found = find_mentions([slow, fine], sentences, "en", time_limit=0.05)
    assert found.timed_out == ("t/slow",)
    assert [(m.claim_id, m.index) for m in found.mentions] == [("t/fine", 0), ("t/fine", 1)]


def test_the_fingerprint_follows_the_mention_vocabulary_only() -> None:
    a, b = _claim(r"\bkept\b"), _claim(r"\bstored\b")
    assert mention_fingerprint(a) != mention_fingerprint(b)
    assert mention_fingerprint(a) == mention_fingerprint(Claim(**{**a.__dict__, "note": "other"}))


_SEEN = datetime(2026, 1, 3, 7, tzinfo=timezone.utc)


_LATER = _SEEN + timedelta(days=1)  # a later version's first sighting


@pytest.mark.parametrize(("published", "without", "expected"), [
    (None, None, _SEEN),  # no declared time: when it was first seen
    (None, _LATER, _LATER),  # ... or when the version in question was
    (_SEEN - timedelta(hours=20), _LATER, _SEEN - timedelta(hours=20)),  # declared before it was seen: as declared
    (_SEEN + timedelta(hours=2, minutes=30), _LATER, _SEEN),  # declared after its first fetch: it existed then
])
def test_an_article_appeared_never_later_than_it_was_first_seen(published: datetime | None,
                                                                without: datetime | None, expected: datetime) -> None:
    assert appeared(published, _SEEN, without) == expected
