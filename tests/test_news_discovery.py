"""Discovery: RSS, Atom, news sitemaps, sitemap indexes and GDELT answers, bounded per document and per night."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest

from ingest.news.declarations import NewsKind, NewsSource, OutletType
from ingest.news.discovery import (
    Discovery,
    DiscoveryError,
    DiscoveryLimits,
    NightBudget,
    discover,
    gdelt_request_url,
    parse_feed,
    parse_gdelt,
    parse_sitemap,
    request_url,
)
from news_support import feed_bytes
from policywatch.localserver import LocalServer
from policywatch.localserver import Page as Served

LEDGER = "https://www.eveningledger.example/technology/rss"


def _rss(items: int, start: datetime = datetime(2025, 6, 1, tzinfo=UTC), padding: str = "") -> bytes:
    entries = []
    for i in range(items):
        when = (start - timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        entries.append(f"<item><title>Item {i}</title><link>https://news.example/a/{i}</link>"
                       f"<description>Summary {i}{padding}</description><pubDate>{when}</pubDate>"
                       f"<guid isPermaLink='false'>g{i}</guid></item>")
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Big</title>"
            + "".join(entries) + "</channel></rss>").encode()


def test_rss_items_become_candidates_newest_first() -> None:
    found = parse_feed(feed_bytes("ledger-technology.rss"), "ledger/technology", url=LEDGER)
    assert [c.title for c in found.candidates] == [
        "Council approves new cycle lanes on the harbour road",
        "ChatGPT keeps temporary chats for 30 days, and a court order kept them longer",
        "OpenAI launches a faster model for developers",
        "Privacy groups file complaint over ChatGPT training data",
    ]
    chats = found.candidates[1]
    assert chats.url.endswith("chatgpt-temporary-chats-30-days?utm_source=rss&utm_medium=feed&CMP=rss_tech")
    assert chats.guid == "ledger-2025-06-12-chatgpt-temporary-chats"
    assert chats.published == datetime(2025, 6, 12, 6, 30, tzinfo=UTC)
    # HTML in the description is reduced to its text.
    assert chats.summary.startswith("OpenAI says temporary chats are deleted after 30 days.")
    assert "<" not in chats.summary
    # A relative link is resolved against the feed's URL; an item without a link is skipped and said so.
    assert found.candidates[2].url == "https://www.eveningledger.example/technology/2025/jun/11/openai-faster-model-developers"
    assert found.items_seen == 5
    assert found.notes == ("1 items without an http(s) link skipped",)
    assert found.title == "Technology | The Evening Ledger"


def test_atom_entries_with_published_or_updated_dates() -> None:
    found = parse_feed(feed_bytes("netzchronik.atom"), "netzchronik/datenschutz")
    by_title = {c.title: c for c in found.candidates}
    fotos = by_title["Was ChatGPT mit hochgeladenen Fotos macht [Update]"]
    assert fotos.guid == "tag:netzchronik.example,2025:4711"
    assert fotos.published == datetime(2025, 6, 10, 7, 15, tzinfo=UTC)
    assert fotos.updated == datetime(2025, 6, 11, 12, 40, tzinfo=UTC)
    sora = by_title["Sora: OpenAI erlaubt Videos mit echten Personen nur mit Einwilligung"]
    assert sora.published is None and sora.updated == datetime(2025, 6, 11, 10, 30, tzinfo=UTC)
    assert sora.summary == "Für die Video-App gelten neue Regeln zur Einwilligung abgebildeter Personen."
    assert found.notes == ()


def test_broken_xml_still_yields_what_is_sound_with_a_note() -> None:
    found = parse_feed(feed_bytes("broken.rss"), "netzchronik/all")
    assert [c.title for c in found.candidates] == [
        "Datenschutzbehörde prüft Speicherfristen bei ChatGPT",
        "ChatGPT: OpenAI löscht temporäre Chats nach 30 Tagen",
        "Unvollständige Meldung",
    ]
    assert found.candidates[1].summary == "Was mit Gesprächen passiert, die nicht im Verlauf erscheinen – Daten & Fakten"
    assert len(found.notes) == 1 and found.notes[0].startswith("not well-formed XML")


@pytest.mark.parametrize("data", [b"", b"<html><body>Service unavailable</body></html>", b"\x00\x01binary"])
def test_bytes_that_are_no_feed_are_a_named_error(data: bytes) -> None:
    with pytest.raises(DiscoveryError, match=r"news source 'x/y' \(https://feed.example/rss\): not an RSS or Atom"):
        parse_feed(data, "x/y", url="https://feed.example/rss")


def test_feedparser_is_never_handed_something_it_could_fetch() -> None:
    with LocalServer({"/feed": Served(_rss(3), content_type="application/rss+xml")}) as server:
        with pytest.raises(DiscoveryError):
            parse_feed((server.base_url + "/feed").encode(), "x/y")
        assert server.hits == []


def test_a_feed_pointing_at_ten_thousand_items_yields_the_newest_n() -> None:
    found = parse_feed(_rss(10_000), "big/feed", limits=DiscoveryLimits(max_items=50))
    assert len(found.candidates) == 50
    assert found.items_seen == 10_000 and found.truncated
    assert [c.title for c in found.candidates[:2]] == ["Item 0", "Item 1"]
    assert "10000 items: kept the 50 newest" in found.notes


def test_a_huge_feed_is_cut_with_a_clear_note() -> None:
    data = _rss(2_000, padding=" lorem ipsum" * 150)
    assert len(data) > 3_000_000
    found = parse_feed(data, "huge/feed", limits=DiscoveryLimits(max_bytes=1_000_000, max_items=10_000))
    assert f"{len(data)} bytes: read the first 1000000" in found.notes
    assert 100 < len(found.candidates) < 2_000
    assert all(c.url.startswith("https://news.example/a/") for c in found.candidates)


def test_a_declaration_lowers_the_per_feed_limit_and_lends_its_language() -> None:
    source = NewsSource(id="big/feed", kind=NewsKind.FEED, language="de", outlet="Big", type=OutletType.PRESS,
                        url="https://news.example/rss", max_items=7)
    found = discover(source, _rss(100))
    assert len(found.candidates) == 7 and {c.language for c in found.candidates} == {"de"}
    assert request_url(source) == "https://news.example/rss"


def test_since_skips_older_items() -> None:
    found = parse_feed(_rss(10), "f/x", since=datetime(2025, 6, 1, tzinfo=UTC) - timedelta(minutes=4, seconds=30))
    assert [c.title for c in found.candidates] == [f"Item {i}" for i in range(5)]
    assert found.notes == ("5 items older than 2025-05-31T23:55:30+00:00 skipped",)


def test_the_night_budget_caps_candidates_across_feeds_and_admits_each_url_once() -> None:
    budget = NightBudget(max_candidates=12)
    first = parse_feed(_rss(10), "a/one")
    assert len(budget.admit(first)) == 10
    assert budget.admit(first) == ()
    second = parse_feed(_rss(10, start=datetime(2025, 7, 1, tzinfo=UTC)).replace(b"/a/", b"/b/"), "b/two")
    assert len(budget.admit(second)) == 2
    assert budget.remaining == 0
    assert budget.notes == ["b/two: the night's limit of 12 candidates is reached; 8 left for the next run"]


# ----------------------------------------------------------------- sitemaps

def test_news_sitemap_entries_with_title_language_and_keywords() -> None:
    found = parse_sitemap(feed_bytes("quotidien-news-sitemap.xml"), "quotidien/news")
    assert [c.title for c in found.candidates] == [
        "Tour de France : le parcours dévoilé",
        "ChatGPT : ce que devient l'historique quand on le désactive",
        "La CNIL publie ses recommandations sur l'entraînement des modèles d'IA",
    ]
    historique = found.candidates[1]
    assert historique.language == "fr"
    assert historique.summary == "ChatGPT, OpenAI, vie privée, données personnelles"
    assert historique.published == datetime(2025, 6, 13, 9, 0, tzinfo=UTC)
    assert historique.updated == datetime(2025, 6, 14, 6, 20, tzinfo=UTC)
    assert found.candidates[2].published == datetime(2025, 6, 12, tzinfo=UTC)
    assert found.notes == ("1 entries without an http(s) <loc> skipped",)


def test_a_sitemap_index_names_its_most_recent_sitemaps_to_follow() -> None:
    found = parse_sitemap(feed_bytes("quotidien-sitemap-index.xml"), "quotidien/index",
                          url="https://www.quotidien-numerique.example/sitemap.xml",
                          limits=DiscoveryLimits(max_child_sitemaps=3))
    assert found.candidates == ()
    assert found.sitemaps == (
        "https://www.quotidien-numerique.example/sitemaps/news.xml",
        "https://www.quotidien-numerique.example/sitemaps/2025-06.xml",
        "https://www.quotidien-numerique.example/sitemaps/2025-05.xml",
    )
    assert found.notes == ("5 sitemaps: follow the 3 most recently modified",)
    recent = parse_sitemap(feed_bytes("quotidien-sitemap-index.xml"), "quotidien/index",
                           url="https://www.quotidien-numerique.example/sitemap.xml",
                           since=datetime(2025, 6, 1, tzinfo=UTC))
    assert recent.sitemaps == ("https://www.quotidien-numerique.example/sitemaps/news.xml",
                               "https://www.quotidien-numerique.example/sitemaps/2025-06.xml",
                               "https://www.quotidien-numerique.example/sitemaps/undated.xml")


def test_a_gzipped_sitemap_is_read_and_bounded_once_decompressed() -> None:
    data = gzip.compress(feed_bytes("quotidien-news-sitemap.xml"))
    assert len(parse_sitemap(data, "q/gz").candidates) == 3
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    found = parse_sitemap(bomb, "q/bomb", limits=DiscoveryLimits(max_bytes=100_000))
    assert "more than 100000 bytes once decompressed: read the first 100000" in found.notes


def test_sitemap_entities_are_never_expanded() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>https://news.example/&c;</loc></url></urlset>")
    found = parse_sitemap(laughs, "q/entities")
    assert all("aaaaaaaaaa" not in c.url for c in found.candidates)
    external = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<urlset><url><loc>https://news.example/&x;</loc></url></urlset>')
    assert all("root:" not in c.url for c in parse_sitemap(external, "q/external").candidates)


def test_broken_sitemap_xml_yields_the_entries_before_the_break() -> None:
    data = feed_bytes("quotidien-news-sitemap.xml")
    cut = data[: data.index(b"<url>", data.index(b"tour-de-france")) + 40]
    found = parse_sitemap(cut, "q/cut")
    assert len(found.candidates) == 2
    assert found.notes[0].startswith("not well-formed XML")


@pytest.mark.parametrize(("data", "message"), [
    (b"not xml at all", "not XML"),
    (b"<rss version='2.0'><channel/></rss>", "not a sitemap: the root element is <rss>"),
])
def test_sitemap_errors_are_named(data: bytes, message: str) -> None:
    with pytest.raises(DiscoveryError, match=message):
        parse_sitemap(data, "q/x")


# ----------------------------------------------------------------- GDELT

def test_gdelt_article_list() -> None:
    found = parse_gdelt(feed_bytes("gdelt-artlist.json"), "gdelt/openai")
    assert [(c.language, c.published) for c in found.candidates] == [
        ("fr", datetime(2025, 6, 13, 9, 30, tzinfo=UTC)),
        ("en", datetime(2025, 6, 12, 7, 15, tzinfo=UTC)),
        (None, datetime(2025, 6, 11, 12, 0, tzinfo=UTC)),
        ("de", datetime(2025, 6, 10, 8, 0, tzinfo=UTC)),
    ]
    assert found.notes == ("1 GDELT entries without an http(s) URL skipped",)


def test_gdelt_errors_come_as_text_and_are_named() -> None:
    with pytest.raises(DiscoveryError, match="GDELT did not answer JSON: 'Please limit requests to one every 5 seconds"):
        parse_gdelt(b"Please limit requests to one every 5 seconds or contact us.", "gdelt/x")
    assert parse_gdelt(b"{}", "gdelt/x").candidates == ()


def test_gdelt_request_is_an_article_list_in_json_with_the_api_ceiling() -> None:
    url = gdelt_request_url('(OpenAI OR ChatGPT) "data retention" sourcelang:german', max_records=1000)
    assert url.startswith("https://api.gdeltproject.org/api/v2/doc/doc?query=%28OpenAI+OR+ChatGPT%29")
    assert "mode=ArtList" in url and "format=json" in url and "maxrecords=250" in url and "sort=DateDesc" in url
    source = NewsSource(id="gdelt/x", kind=NewsKind.GDELT, language="de", outlet="GDELT", type=OutletType.PRESS,
                        query="OpenAI", enabled=False)
    assert request_url(source).startswith("https://api.gdeltproject.org/api/v2/doc/doc?query=OpenAI&")
    assert isinstance(discover(source, feed_bytes("gdelt-artlist.json")), Discovery)
