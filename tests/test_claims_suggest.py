"""BM25 suggestions for writing matchers: ranked, stemmed per language, labelled, never evidence."""

from __future__ import annotations

import pytest

from analysis.claims import Suggestion, suggest
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims

CLAIMS = {c.id: c for c in load_claims(BUNDLED_CLAIMS)}

POLICY_EN = """# Your choices

We collect the prompts you send and the files you upload.

You can turn off chat history in your settings at any time.

Our offices are in San Francisco.

We may share information with vendors who help us run the service.
"""

POLICY_DE = """# Ihre Wahlmöglichkeiten

Wir erheben die Eingaben, die Sie senden.

Der Verlauf Ihrer Gespräche kann in den Einstellungen deaktiviert werden.

Unsere Büros befinden sich in San Francisco.
"""


def test_the_deciding_sentence_comes_first_and_is_labelled_a_suggestion() -> None:
    found = suggest(CLAIMS["openai/chat-history-can-be-turned-off"], {"testco/policy": POLICY_EN}, "en", top=3)
    assert found and all(isinstance(s, Suggestion) for s in found)
    assert found[0].sentence == "You can turn off chat history in your settings at any time."
    assert found[0].matched_by == ("turn-off-history",)
    assert [s.rank for s in found] == list(range(1, len(found) + 1))
    assert all(a.score >= b.score > 0 for a, b in zip(found, found[1:]))
    as_json = found[0].to_json()
    assert "not evidence" in as_json["label"] and as_json["source"] == "testco/policy"
    assert not any("San Francisco" in s.sentence for s in found)


def test_german_suggestions_use_german_stemming() -> None:
    found = suggest(CLAIMS["openai/chat-history-can-be-turned-off"], {"testco/richtlinie": POLICY_DE}, "de", top=2)
    # "deaktivieren" in the statement, "deaktiviert" in the text: only stemming brings them together.
    assert found[0].sentence == "Der Verlauf Ihrer Gespräche kann in den Einstellungen deaktiviert werden."


def test_no_text_no_suggestions_and_an_unknown_language_is_refused() -> None:
    claim = CLAIMS["openai/chat-history-can-be-turned-off"]
    assert suggest(claim, {}, "en") == []
    with pytest.raises(ValueError, match="no stemmer for language 'it'"):
        suggest(claim, {"x": "Testo."}, "it")
