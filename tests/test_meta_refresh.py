"""Meta refreshes: followed as Scrapy follows them, without decoding pages that mention none."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy import Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from conftest import write_declarations
from crawler.middlewares import TextlessMetaRefreshMiddleware
from policywatch.localserver import Page

URL = "http://127.0.0.1:8000/policy"
FILLER = "<p>We keep chats for thirty days.</p>" * 200


def page(head: str, body: str = FILLER, encoding: str = "utf-8") -> bytes:
    return f"<html><head><meta charset='{encoding}'>{head}</head><body><main>{body}</main></body></html>".encode(
        encoding)


# A page, and whether it mentions a refresh in its opening bytes (a page that does is decoded as Scrapy does).
CASES = {
    "no refresh": (page("<title>Policy</title>"), False),
    "a refresh to follow": (page("<meta http-equiv='refresh' content='0; url=/moved'>"), True),
    "upper case": (page("<META HTTP-EQUIV=REFRESH CONTENT='0;URL=/moved'>"), True),
    "a refresh too slow to follow": (page("<meta http-equiv='refresh' content='390'>"), True),
    "inside noscript, ignored": (page("<noscript><meta http-equiv='refresh' content='0;url=/js'></noscript>"),
                                 True),
    "UTF-16": (page("<meta http-equiv='refresh' content='0; url=/moved'>", encoding="utf-16"), True),
    "after 4,096 characters": (page("", FILLER + "<meta http-equiv='refresh' content='0; url=/late'>"), True),
    "after the opening bytes": (page("", FILLER * 5 + "<meta http-equiv='refresh' content='0; url=/late'>"), False),
    "the word in the text only": (page("", "<p>We refresh this page yearly.</p>" + FILLER), True),
    "non-ASCII before it": (page("<title>" + "é€" * 1500 + "</title><meta http-equiv='refresh' "
                                 "content='0; url=/moved'>"), True),
}


def outcome(result: object) -> tuple[str, str]:
    return (type(result).__name__, result.url)  # type: ignore[attr-defined]


@pytest.mark.parametrize("body, mentions", CASES.values(), ids=CASES.keys())
def test_meta_refreshes_are_followed_as_scrapy_follows_them(body: bytes, mentions: bool) -> None:
    crawler = get_crawler(Spider)
    ours, scrapys = TextlessMetaRefreshMiddleware.from_crawler(crawler), MetaRefreshMiddleware.from_crawler(crawler)
    request = Request(URL)
    response = HtmlResponse(URL, body=body, request=request)
    expected = outcome(scrapys.process_response(request, HtmlResponse(URL, body=body, request=request)))
    assert outcome(ours.process_response(request, response)) == expected
    # A page whose opening bytes cannot hold a refresh is never decoded for the look.
    assert (response._cached_ubody is not None) == mentions


def test_a_crawl_follows_a_meta_refresh_to_the_page_it_names(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                              [{"id": "t/policy", "urls": ["/policy"], "select": "main"}])
    server.routes.update({
        "/policy": Page(b"<html><head><meta http-equiv='refresh' content='0; url=/policies/privacy'></head>"
                        b"<body><main><p>This page has moved.</p></main></body></html>"),
        "/policies/privacy": Page(b"<html><body><main><p>We keep chats for 30 days.</p></main></body></html>"),
    })
    cli = make_cli(decl)
    cli("crawl", "--now", "2026-02-01T00:00:00Z")
    assert cli("show", "t/policy").stdout == "We keep chats for 30 days.\n"
    assert "/policies/privacy" in server.hits
