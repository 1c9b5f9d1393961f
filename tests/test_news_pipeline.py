"""The building blocks in the order the news spider will call them, against a real server on 127.0.0.1:
feed → candidates → screen → fetch (redirects followed) → identity, TDM, walls, extraction, relevance."""

from __future__ import annotations

import urllib.request
from typing import Iterator

import pytest

from ingest.news.declarations import NewsKind, NewsSource, OutletType
from ingest.news.discovery import NightBudget, discover
from ingest.news.process import OutcomeKind, PageOutcome, process_page, screen
from ingest.news.urls import candidate_key
from news_support import NEWS_DATA, config
from policywatch.localserver import LocalServer
from policywatch.localserver import Page as Served

ARTICLES = NEWS_DATA / "articles"
LEDGER = "https://www.eveningledger.example"


def _article(name: str, base: str) -> bytes:
    # The saved page, with its own links pointing at the local server.
    return (ARTICLES / f"{name}.html").read_bytes().replace(LEDGER.encode(), base.encode())


def _feed(base: str) -> bytes:
    items = [
        ("ChatGPT keeps temporary chats for 30 days, and a court order kept them longer",
         "OpenAI says temporary chats are deleted after 30 days.",
         "/go/chats?utm_source=rss"),
        ("ChatGPT temporary chats: the AMP edition", "OpenAI deletes temporary chats after 30 days.",
         "/technology/2025/jun/12/chatgpt-temporary-chats-30-days/amp?utm_medium=feed"),
        ("Council approves new cycle lanes on the harbour road", "Work starts in September.", "/local/cycle-lanes"),
        ("OpenAI und die Trainingsdaten", "Wie OpenAI Chats für das Training nutzt.", "/digital/paywalled"),
        ("OpenAI's privacy portal lets users ask it to stop training on their content",
         "OpenAI's portal handles deletion requests.", "/2025/07/31/openai-privacy-portal"),
        ("OpenAI hires a new chief financial officer", "ChatGPT maker's executive changes.", "/business/openai-cfo"),
    ]
    body = "".join(f"<item><title>{t}</title><description>{d}</description><link>{base}{u}</link>"
                   f"<pubDate>Thu, 12 Jun 2025 0{9 - i}:00:00 GMT</pubDate></item>" for i, (t, d, u) in enumerate(items))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Ledger</title>{body}</channel></rss>".encode()


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        base = server.base_url
        canonical = "/technology/2025/jun/12/chatgpt-temporary-chats-30-days"
        offtopic_business = _article("en-offtopic", base).replace(b"cycle lanes", b"a new finance chief at OpenAI")
        server.routes.update({
            "/feed.rss": Served(_feed(base), content_type="application/rss+xml"),
            "/go/chats": Served(b"", status=301, headers={"Location": base + canonical + "?utm_campaign=x"}),
            canonical: Served(_article("en-temporary-chats", base)),
            canonical + "/amp": Served(_article("en-temporary-chats.amp", base)),
            "/local/cycle-lanes": Served(_article("en-offtopic", base)),
            "/digital/paywalled": Served((ARTICLES / "de-paywall.html").read_bytes()),
            "/2025/07/31/openai-privacy-portal": Served((ARTICLES / "en-tdm-reserved.html").read_bytes(),
                                                        headers={"tdm-reservation": "1"}),
            "/business/openai-cfo": Served(offtopic_business),
        })
        yield server


def _fetch(url: str) -> tuple[bytes, str, list[tuple[str, str]], str | None]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read(), response.url, list(response.headers.items()), response.headers.get_content_charset()


def test_a_night_over_one_feed(site: LocalServer) -> None:
    source = NewsSource(id="ledger/technology", kind=NewsKind.FEED, language="en", outlet="The Evening Ledger",
                        type=OutletType.PRESS, url=site.base_url + "/feed.rss")
    body, final_url, _, _ = _fetch(source.url)  # type: ignore[arg-type]
    budget = NightBudget(max_candidates=100)
    candidates = budget.admit(discover(source, body, url=final_url))
    assert len(candidates) == 6

    outcomes: dict[str, PageOutcome] = {}
    known: dict[str, str] = {}  # alias or canonical URL → article id, as storage will keep them
    for candidate in candidates:
        if candidate_key(candidate.url) in known:
            continue
        if not screen(candidate, config()).names_vendor:
            continue
        page, final, headers, charset = _fetch(candidate.url)
        outcome = process_page(candidate, page, final, config(), headers=headers, encoding=charset)
        outcomes[candidate.title] = outcome
        if outcome.identity is not None:
            for url in (outcome.identity.canonical, *outcome.identity.aliases):
                known[url] = outcome.identity.article_id

    # The off-topic item is never fetched: its title and summary name no vendor.
    assert "/local/cycle-lanes" not in [hit.split("?")[0] for hit in site.hits]
    kept = outcomes["ChatGPT keeps temporary chats for 30 days, and a court order kept them longer"]
    assert kept.kind is OutcomeKind.KEPT and kept.text_may_be_kept
    assert kept.identity.canonical == site.base_url + "/technology/2025/jun/12/chatgpt-temporary-chats-30-days"  # type: ignore[union-attr]
    assert site.base_url + "/go/chats" in kept.identity.aliases  # type: ignore[union-attr]
    assert set(kept.relevance.topics) >= {"retention", "legal"}  # type: ignore[union-attr]
    # The AMP link is recognised as the same article before it is fetched.
    assert "ChatGPT temporary chats: the AMP edition" not in outcomes
    assert not any("/amp" in hit for hit in site.hits)
    assert outcomes["OpenAI und die Trainingsdaten"].kind is OutcomeKind.PAYWALL
    assert outcomes["OpenAI und die Trainingsdaten"].article is None
    reserved = outcomes["OpenAI's privacy portal lets users ask it to stop training on their content"]
    assert reserved.kind is OutcomeKind.KEPT and reserved.tdm.reserved and not reserved.text_may_be_kept  # type: ignore[union-attr]
    # Named a vendor in the feed, but the body is not about data practices: fetched, not kept.
    assert outcomes["OpenAI hires a new chief financial officer"].kind is OutcomeKind.OFF_TOPIC


def test_an_empty_page_and_a_page_without_text_are_outcomes_not_errors(site: LocalServer) -> None:
    site.routes["/empty"] = Served(b"")
    site.routes["/shell"] = Served(b"<html><body><div id='app'></div><script>load()</script></body></html>")
    source = NewsSource(id="x/y", kind=NewsKind.FEED, language="en", outlet="X", type=OutletType.PRESS,
                        url=site.base_url + "/feed.rss")
    candidate = discover(source, _feed(site.base_url)).candidates[0]
    for path, kind in (("/empty", OutcomeKind.UNREADABLE), ("/shell", OutcomeKind.EMPTY)):
        body, final, headers, charset = _fetch(site.base_url + path)
        assert process_page(candidate, body, final, config(), headers=headers, encoding=charset).kind is kind
