"""Article extraction from saved EN/DE/FR pages: text, metadata, dates, language, corrections."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from analysis.relevance import judge_article
from ingest.news.article import NoArticleText, detect_language, extract_article, find_corrections
from ingest.news.guard import check_walls
from news_support import NEWS_DATA, article_cases, config, page

READABLE = [c for c in article_cases() if c["wall"] is None]
WALLED = [c for c in article_cases() if c["wall"] is not None]


@pytest.mark.parametrize("case", READABLE, ids=lambda c: c["name"])
def test_extracted_fields_match_the_golden_json(case: dict[str, Any]) -> None:
    article = extract_article(page(case["name"], case["url"]), markers=config().markers,
                              declared_language=case["declared_language"])
    golden = json.loads((NEWS_DATA / "golden" / f"{case['name']}.json").read_text(encoding="utf-8"))
    assert article.as_json() == golden


@pytest.mark.parametrize("case", READABLE, ids=lambda c: c["name"])
def test_readable_articles_pass_the_guard_and_are_judged_on_their_body(case: dict[str, Any]) -> None:
    p = page(case["name"], case["url"])
    article = extract_article(p, markers=config().markers, declared_language=case["declared_language"])
    assert check_walls(p, article.words, config().markers) is None
    verdict = judge_article(config().relevance, article.language, article.title or "", article.text)
    assert verdict.relevant is case["relevant"]


def test_boilerplate_stays_out_of_the_text() -> None:
    article = extract_article(page("en-temporary-chats", READABLE[0]["url"]), markers=config().markers)
    for chrome in ("843 partners", "Advertisement", "Most read", "elmtree77", "Support us", "All rights reserved",
                   "How private are your chatbot conversations?"):
        assert chrome not in article.text
    assert article.text.startswith("OpenAI tells users of ChatGPT")
    assert article.text.endswith("in the data controls.")


def test_the_amp_edition_gives_the_same_text_as_the_article() -> None:
    original = extract_article(page("en-temporary-chats", READABLE[0]["url"]), markers=config().markers)
    amp = extract_article(page("en-temporary-chats.amp", READABLE[1]["url"]), markers=config().markers)
    assert amp.text == original.text


def test_a_correction_edition_is_a_different_text_with_its_notice() -> None:
    first = extract_article(page("de-fotos", "https://www.netzchronik.example/a"), markers=config().markers)
    corrected = extract_article(page("de-fotos-korrektur", "https://www.netzchronik.example/a"), markers=config().markers)
    assert first.corrections == ()
    assert [c.marker for c in corrected.corrections] == ["Korrektur (11.06.2025)"]
    assert corrected.text != first.text
    assert "sofort und verwendet sie nicht weiter" in first.text
    assert "sofort und verwendet sie nicht weiter" not in corrected.text
    assert (first.published, first.modified) == ("2025-06-10T09:15:00+02:00", None)
    assert corrected.modified == "2025-06-11T14:40:00+02:00"


@pytest.mark.parametrize("case", [c for c in WALLED if c["name"] == "fr-consent-wall"], ids=lambda c: c["name"])
def test_a_page_without_article_text_raises_a_named_error(case: dict[str, Any]) -> None:
    with pytest.raises(NoArticleText, match="observateur-web.example"):
        extract_article(page(case["name"], case["url"]), markers=config().markers)


CORRECTIONS = yaml.safe_load((NEWS_DATA / "corrections.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CORRECTIONS, ids=lambda c: c["id"])
def test_correction_notices(case: dict[str, Any]) -> None:
    found = find_corrections(case.get("text", ""), case.get("title"), config().markers, case.get("language"))
    assert [(c.where, c.marker) for c in found] == [tuple(m) for m in case["expect"]]


@pytest.mark.parametrize(("text", "expected"), [
    ("OpenAI says that temporary chats are kept for up to thirty days and then deleted from its systems, "
     "unless it is legally required to keep them for longer than that.", "en"),
    ("OpenAI erklärt, dass temporäre Chats bis zu dreißig Tage lang aufbewahrt und dann aus den Systemen gelöscht "
     "werden, es sei denn, das Unternehmen ist gesetzlich zu einer längeren Aufbewahrung verpflichtet.", "de"),
    ("OpenAI indique que les conversations temporaires sont conservées jusqu'à trente jours puis supprimées de ses "
     "systèmes, sauf si l'entreprise est légalement tenue de les conserver plus longtemps que cela.", "fr"),
    ("OpenAI afferma che le chat temporanee vengono conservate fino a trenta giorni e poi cancellate dai suoi "
     "sistemi, a meno che l'azienda non sia obbligata per legge a conservarle più a lungo di così.", "it"),
])
def test_language_detection_names_languages_beyond_the_three(text: str, expected: str) -> None:
    code, probability = detect_language(text)
    assert code == expected and probability > 0.9


def test_too_little_text_gives_no_language() -> None:
    assert detect_language("OpenAI löscht Chats") == (None, 0.0)
