"""Meta refreshes: followed as Scrapy follows them, without decoding pages that mention none."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler

from conftest import write_declarations
from crawler.middlewares import TextlessMetaRefreshMiddleware
from crawler.settings import CrawlOptions, scrapy_settings
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
    "a character reference in the name": (page("<meta http-equiv='&#114;efresh' content='0; url=/moved'>"), False),
    "non-ASCII before it": (page("<title>" + "é€" * 1500 + "</title><meta http-equiv='refresh' "
                                 "content='0; url=/moved'>"), True),
}


class CountedResponse(HtmlResponse):
    """A response that counts how often its text is asked for."""

    decoded = 0

    @property
    def text(self) -> str:
        self.decoded += 1
        return super().text


def outcome(result: Request | HtmlResponse) -> tuple[str, str]:
    """Followed (a request for the page the refresh names) or not (the response itself)."""
    return ("followed" if isinstance(result, Request) else "kept", result.url)


@pytest.mark.parametrize("body, mentions", CASES.values(), ids=CASES.keys())
def test_meta_refreshes_are_followed_as_scrapy_follows_them(body: bytes, mentions: bool) -> None:
    crawler = get_crawler(Spider)
    ours, scrapys = TextlessMetaRefreshMiddleware.from_crawler(crawler), MetaRefreshMiddleware.from_crawler(crawler)
    request = Request(URL)
    response = CountedResponse(URL, body=body, request=request)
    expected = outcome(scrapys.process_response(request, HtmlResponse(URL, body=body, request=request)))
    assert outcome(ours.process_response(request, response)) == expected
    # A page whose opening bytes cannot hold a refresh is never decoded for the look.
    assert bool(response.decoded) == mentions


def test_meta_refreshes_are_looked_for_where_scrapy_looked_for_them() -> None:
    order = build_component_list(Settings(scrapy_settings(CrawlOptions())).getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware" not in order
    ours, ladder = order.index("crawler.middlewares.TextlessMetaRefreshMiddleware"), order.index(
        "crawler.ladder.BrowserLadderMiddleware")
    # Responses pass the middlewares from the last to the first: the ladder's verdict comes first, as it did.
    assert ours == ladder - 1


def test_a_crawl_follows_a_meta_refresh_to_the_page_it_names(  # type: ignore[no-untyped-def]
        server, make_cli, tmp_path: Path) -> None:
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
