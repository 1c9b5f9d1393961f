"""The bundled claim matchers on sentences written for these tests, per language (tests/data/claims/<xx>.yaml)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from analysis.claims import (
    ClaimSet,
    Role,
    SourceInfo,
    compile_matcher,
    hits_in_text,
    match_sentences,
)
from analysis.claims.model import Claim
from analysis.vocabulary import FlagCategory
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims

DATA = Path(__file__).parent / "data" / "claims"
CLAIMS = {c.id: c for c in load_claims(BUNDLED_CLAIMS)}


def _cases(language: str) -> list[dict]:
    return yaml.safe_load((DATA / f"{language}.yaml").read_text(encoding="utf-8"))


CASES = [(lang, case) for lang in ("en", "de", "fr") for case in _cases(lang)]


@pytest.mark.parametrize(("language", "case"), CASES,
                         ids=[f"{lang}-{c['matcher']}-{i}" for i, (lang, c) in enumerate(CASES)])
def test_matcher_case(language: str, case: dict) -> None:
    claim = CLAIMS[case["claim"]]
    claim.matcher(case["matcher"])  # the case names a matcher that exists
    hits = [h for h in hits_in_text(claim, [case["sentence"]], language) if h.matcher_id == case["matcher"]]
    if case.get("match", True) is False:
        assert not hits, f"{case['matcher']} should not match: {hits[0].sentence[hits[0].span[0]:hits[0].span[1]]!r}"
        return
    assert hits, f"{case['matcher']} does not match {case['sentence']!r}"
    hit = hits[0]
    assert hit.role == Role(case["role"])
    assert hit.expect_met is case["expect_met"], hit.failures


def test_every_bundled_claim_has_three_statements_and_a_checkable_matcher() -> None:
    assert len(CLAIMS) >= 14
    for claim in CLAIMS.values():
        assert set(claim.statement) == {"en", "de", "fr"}, claim.id
        assert "en" in claim.languages(), claim.id
        assert any(m.role is not Role.SUCCESSORS for m in claim.matchers), claim.id
        assert set(claim.mentions) == {"en", "de", "fr"}, claim.id
        assert all(isinstance(t, FlagCategory) for t in claim.topics)


def test_cases_cover_every_language_of_every_bundled_matcher() -> None:
    covered = {(lang, case["claim"], case["matcher"]) for lang, case in CASES if case.get("match", True) is not False}
    missing = [(lang, claim.id, m.id) for claim in CLAIMS.values() for m in claim.matchers for lang in m.conditions
               if (lang, claim.id, m.id) not in covered and m.ref is None]
    assert not missing, f"matchers without a matching case: {missing}"


def test_matchers_run_against_documents_in_their_own_language() -> None:
    claim = CLAIMS["openai/chat-history-can-be-turned-off"]
    claims = ClaimSet([claim])
    german = SourceInfo("openai/privacy-policy-eu-de", "OpenAI", "de")
    english = SourceInfo("openai/privacy-policy-eu", "OpenAI", "en")
    sentence_de = "Über die Datenkontrollen können Sie den Chatverlauf deaktivieren."
    sentence_en = "You can turn off chat history in settings."
    assert match_sentences(claims, german, [sentence_de]).hits[claim.id]
    assert not match_sentences(claims, german, [sentence_en]).hits[claim.id]
    assert match_sentences(claims, english, [sentence_en]).hits[claim.id]
    assert not match_sentences(claims, english, [sentence_de]).hits[claim.id]


def _claim_with(pattern: str, claim_id: str) -> Claim:
    matcher = compile_matcher({"id": "slow", "en": {"patterns": [pattern]}}, Role.SUPPORTS)
    return Claim(id=claim_id, vendor="Testco", statement={"en": "x"}, matchers=(matcher,))


def test_a_pathological_pattern_is_stopped_and_reported_while_other_claims_carry_on() -> None:
    slow = _claim_with(r"(.*,){15}X", "testco/slow")
    fine = _claim_with(r"\bkept for \d+ days\b", "testco/fine")
    claims = ClaimSet([slow, fine])
    source = SourceInfo("testco/policy", "Testco", "en")
    sentences = ["a," * 400, "We kept for 30 days the logs."]
    start = time.perf_counter()
    found = match_sentences(claims, source, sentences, version=3, time_limit=0.3)
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"matching took {elapsed:.1f} s despite the 0.3 s limit"
    assert set(found.errors) == {"testco/slow"}
    error = found.errors["testco/slow"]
    assert (error.source_id, error.version, error.matcher_id) == ("testco/policy", 3, "slow")
    assert "0.3 s limit" in error.message
    assert "testco/slow" not in found.hits
    assert [h.sentence for h in found.hits["testco/fine"].values()] == ["We kept for 30 days the logs."]


MENTIONS = yaml.safe_load((DATA / "mentions.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", MENTIONS, ids=[f"{c['language']}-{c['claim'].split('/')[1]}-{i}"
                                                for i, c in enumerate(MENTIONS)])
def test_mentions_find_the_claim_in_press_sentences(case: dict) -> None:
    condition = CLAIMS[case["claim"]].mentions[case["language"]]
    sentence = case["sentence"]
    assert (condition.find(sentence, sentence.lower(), timeout=1.0) is not None) is case["match"]
