"""Canonical URLs, AMP, tracking parameters and article identity."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from ingest.news.urls import (
    PageUrls,
    UrlError,
    amp_to_canonical,
    article_id,
    candidate_key,
    normalize_url,
    page_urls,
    resolve_identity,
    same_site,
)
from news_support import NEWS_DATA, page

CASES = yaml.safe_load((NEWS_DATA / "urls.yaml").read_text(encoding="utf-8"))
ORIGINAL = "https://www.eveningledger.example/technology/2025/jun/12/chatgpt-temporary-chats-30-days"


@pytest.mark.parametrize(("url", "expected"), CASES["normalize"])
def test_normalize(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), CASES["amp"])
def test_amp_to_canonical(url: str, expected: str | None) -> None:
    assert amp_to_canonical(url) == expected


@pytest.mark.parametrize(("url", "expected"), CASES["candidate_key"])
def test_candidate_key(url: str, expected: str) -> None:
    assert candidate_key(url) == expected


@pytest.mark.parametrize("url", ["ftp://news.example/a", "/relative/path", "javascript:alert(1)", "https://"])
def test_what_is_not_an_http_url_is_refused(url: str) -> None:
    with pytest.raises(UrlError):
        normalize_url(url)


def test_identity_is_the_sha256_of_the_normalised_canonical_url() -> None:
    assert article_id(ORIGINAL + "?utm_source=x") == hashlib.sha256(ORIGINAL.encode()).hexdigest()


def test_the_article_its_feed_link_and_its_amp_edition_share_one_identity() -> None:
    feed_link = ORIGINAL + "?utm_source=rss&utm_medium=feed&CMP=rss_tech"
    original = page("en-temporary-chats", feed_link)
    amp = page("en-temporary-chats.amp", ORIGINAL + "/amp")
    a = resolve_identity(original.url, page_urls(original.html, original.url), also_seen_as=[feed_link])
    b = resolve_identity(amp.url, page_urls(amp.html, amp.url))
    assert a.canonical == b.canonical == ORIGINAL
    assert a.article_id == b.article_id == hashlib.sha256(ORIGINAL.encode()).hexdigest()
    assert a.canonical_from == b.canonical_from == "rel_canonical"
    assert a.aliases == (ORIGINAL + "/amp",)
    assert b.aliases == (ORIGINAL + "/amp",)
    assert page_urls(amp.html, amp.url).is_amp


def test_a_syndicated_copy_keeps_its_own_identity_and_points_at_the_original() -> None:
    url = "https://news.riversidecourier.example/tech/chatgpt-temporary-chats-30-days-court-order"
    copy = page("en-temporary-chats.syndicated", url)
    identity = resolve_identity(copy.url, page_urls(copy.html, copy.url))
    assert identity.canonical == url
    assert identity.canonical_from == "og_url"
    assert identity.canonical_elsewhere == ORIGINAL
    assert identity.notes[0].startswith("rel_canonical points at another site")


def test_without_declarations_the_final_url_or_its_non_amp_form_is_canonical() -> None:
    plain = resolve_identity("https://news.example/a?utm_source=x", PageUrls())
    assert (plain.canonical, plain.canonical_from) == ("https://news.example/a", "final_url")
    amp = resolve_identity("https://news.example/a/amp", PageUrls(is_amp=True))
    assert (amp.canonical, amp.canonical_from, amp.aliases) == ("https://news.example/a", "amp", ("https://news.example/a/amp",))


def test_a_canonical_pointing_at_the_home_page_is_ignored() -> None:
    identity = resolve_identity("https://news.example/2025/story", PageUrls(rel_canonical="https://news.example/"))
    assert identity.canonical == "https://news.example/2025/story"
    assert identity.notes == ("rel_canonical points at the home page (https://news.example/): ignored",)


def test_relative_canonical_links_are_resolved_against_the_page() -> None:
    html = b'<html><head><link rel="canonical" href="/news/a.html"><meta property="og:url" content="javascript:x"></head></html>'
    urls = page_urls(html, "https://www.news.example/news/a.html?page=2")
    assert urls == PageUrls(rel_canonical="https://www.news.example/news/a.html")


@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://www.heise.de/a", "https://heise.de/b", True),
    ("https://news.bbc.co.uk/a", "https://www.bbc.co.uk/b", True),
    ("https://www.eveningledger.example/a", "https://news.riversidecourier.example/b", False),
    ("http://127.0.0.1:8080/a", "http://127.0.0.1:9090/b", True),
])
def test_same_site(a: str, b: str, same: bool) -> None:
    assert same_site(a, b) is same
