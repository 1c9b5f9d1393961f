"""The news fetch guard: paywalls and consent walls (never circumvented), and TDMRep reservations."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import yaml

from ingest.news.article import NoArticleText, extract_article
from ingest.news.guard import (
    TdmRepError,
    TdmSource,
    WallKind,
    check_walls,
    parse_tdmrep,
    tdm_from_headers,
    tdm_from_tdmrep,
    tdm_reservation,
)
from ingest.news.page import Page
from news_support import NEWS_DATA, article_cases, config, page
from policywatch.localserver import LocalServer
from policywatch.localserver import Page as Served

WALLED = [c for c in article_cases() if c["wall"] is not None]


def _words(p: Page) -> int:
    try:
        return extract_article(p, markers=config().markers).words
    except NoArticleText:
        return 0


@pytest.mark.parametrize("case", WALLED, ids=lambda c: c["name"])
def test_walls_are_recognised_with_what_gave_them_away(case: dict[str, Any]) -> None:
    p = page(case["name"], case["url"])
    wall = check_walls(p, _words(p), config().markers)
    assert wall is not None and wall.kind == WallKind(case["wall"])
    assert wall.detail


def test_each_paywall_names_its_evidence() -> None:
    de = page("de-paywall", "https://www.wochenblatt.example/a")
    assert "isAccessibleForFree=false" in check_walls(de, _words(de), config().markers).detail  # type: ignore[union-attr]
    en = page("en-paywall-teaser", "https://www.briefingroom.example/a")
    assert "claims 2150 words" in check_walls(en, _words(en), config().markers).detail  # type: ignore[union-attr]


def _html(body: str, head: str = "") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


ARTICLE = "<article><p>" + " ".join(["OpenAI keeps temporary chats for thirty days."] * 30) + "</p></article>"
SHORT_NOTICE = "<article><p>" + " ".join(["The regulator opened an inquiry."] * 8) + "</p></article>"
BANNER = '<div id="onetrust-consent-sdk"><p>We and our partners use cookies.</p><button>Accept</button></div>'


@pytest.mark.parametrize(("name", "html", "words", "expected"), [
    ("banner over a readable article", _html(BANNER + ARTICLE), 210, None),
    ("banner over a short notice", _html(BANNER + SHORT_NOTICE), 40 + 60, None),
    ("consent manager and nothing else", _html(BANNER), 0, WallKind.CONSENT_WALL),
    ("consent-or-pay wall in German", _html("<div><p>Mit Werbung weiterlesen</p><p>Pur-Abo für 2,99 €</p></div>"), 10,
     WallKind.CONSENT_WALL),
    ("paywall phrase under a teaser", _html("<p>Teaser.</p><p>Réservé aux abonnés</p>"), 30, WallKind.PAYWALL),
    ("paywall phrase beside a full article", _html(ARTICLE + "<p>Réservé aux abonnés : nos enquêtes</p>"), 210, None),
    ("paywall element under a teaser", _html('<p>Teaser.</p><div class="article-paywall-box"></div>'), 30,
     WallKind.PAYWALL),
    ("content tier locked", _html(ARTICLE, '<meta property="article:content_tier" content="locked">'), 210,
     WallKind.PAYWALL),
    ("content tier metered is readable", _html(ARTICLE, '<meta property="article:content_tier" content="metered">'),
     210, None),
    ("free by schema.org", _html(ARTICLE, '<script type="application/ld+json">{"isAccessibleForFree": true}</script>'),
     210, None),
    ("broken JSON-LD is ignored", _html(ARTICLE, '<script type="application/ld+json">{"isAccessibleForFree": </script>'),
     210, None),
])
def test_wall_rules(name: str, html: bytes, words: int, expected: WallKind | None) -> None:
    wall = check_walls(Page(html, "https://news.example/a"), words, config().markers)
    assert (wall.kind if wall else None) == expected, wall


# ----------------------------------------------------------------- TDMRep

def test_tdm_reservation_from_a_real_response_header() -> None:
    body = page("en-temporary-chats", "https://x.example/").html
    with LocalServer({"/reserved": Served(body, headers={"TDM-Reservation": "1", "TDM-Policy": "https://p.example/p"}),
                      "/open": Served(body)}) as server:
        with urllib.request.urlopen(server.base_url + "/reserved", timeout=5) as response:
            reserved = tdm_reservation(headers=response.headers.items(), page=Page(response.read(), response.url))
        with urllib.request.urlopen(server.base_url + "/open", timeout=5) as response:
            open_ = tdm_reservation(headers=response.headers.items(), page=Page(response.read(), response.url))
    assert reserved.reserved and [s.source for s in reserved.signals] == [TdmSource.HEADER]
    assert reserved.signals[0].policy == "https://p.example/p"
    assert not open_.reserved and open_.signals == ()


def test_tdm_reservation_from_the_meta_tag() -> None:
    p = page("en-tdm-reserved", "https://www.signaldesk.example/2025/07/31/openai-privacy-portal")
    result = tdm_reservation(page=p)
    assert result.reserved
    assert result.signals[0].source is TdmSource.META
    assert result.signals[0].policy == "https://www.signaldesk.example/tdm-policy.json"


def test_a_reservation_anywhere_wins_over_an_explicit_zero_elsewhere() -> None:
    rules = parse_tdmrep((NEWS_DATA / "articles" / "tdmrep.json").read_bytes())
    p = page("en-tdm-reserved", "https://www.signaldesk.example/2025/07/31/openai-privacy-portal")
    result = tdm_reservation(page=p, tdmrep_rules=rules)
    assert [(s.source, s.reserved) for s in result.signals] == [(TdmSource.META, True), (TdmSource.TDMREP_JSON, False)]
    assert result.reserved
    assert "tdmrep.json: tdm-reservation=0" in result.detail


TDMREP_CASES = yaml.safe_load((NEWS_DATA / "tdmrep.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", TDMREP_CASES, ids=lambda c: c["path"])
def test_tdmrep_rules_apply_by_location_first_match_first(case: dict[str, Any]) -> None:
    rules = parse_tdmrep((NEWS_DATA / "articles" / "tdmrep.json").read_bytes())
    signal = tdm_from_tdmrep(rules, case["path"])
    assert (None if signal is None else (signal.reserved, signal.location)) == (
        None if case["expect"] is None else tuple(case["expect"]))


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "not JSON"),
    (b'{"location": "/"}', "expected a JSON array"),
    (b'[{"tdm-reservation": 1}]', "rule 0: field 'location'"),
    (b"[1]", "rule 0: expected an object"),
    (b"[" + b'{"location": "/", "tdm-reservation": 1},' * 10_001 + b"{}]", "rules, more than"),
])
def test_unreadable_tdmrep_files_are_named_errors(data: bytes, message: str) -> None:
    with pytest.raises(TdmRepError, match=message):
        parse_tdmrep(data)


def test_protocol_errors_count_as_unset() -> None:
    assert tdm_from_headers({"tdm-reservation": "2"}) is None
    assert tdm_from_headers({"tdm-reservation": "yes"}) is None
    assert parse_tdmrep(b'[{"location": "/", "tdm-reservation": true}]') == ()
    assert tdm_from_headers([("Tdm-Reservation", "0")]).reserved is False  # type: ignore[union-attr]
