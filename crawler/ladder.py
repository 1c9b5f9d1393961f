"""The fetch ladder: a plain HTTP fetch that looks blocked is tried once more in the headless browser.

Blocked means a bot-protection page (403/406/429/503 with challenge markers,
or one served with 200), a connection reset before any answer, or a page whose
declared selector finds nothing while the page plainly needs scripts (a
`<noscript>` asking for JavaScript, an empty application shell). Without the
browser, the failure is recorded as it would be without the ladder, saying
that the browser would have been tried and how to install it. The browser's
own responses are turned into what the guard expects (see `rendered`).

The middleware sits at 580: after decompression (590) and redirects (600),
before the retry middleware (550), which would otherwise retry a 429/503
challenge page in vain.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any, Mapping

import lxml.html
from lxml import etree
from scrapy import Request
from scrapy.http import Response, TextResponse

from scrapy import signals

from crawler import browser
from crawler.completeness import TRUNCATED
from ingest.declarations import Source
from ingest.guard import BLOCKING_STATUSES, HTML_TYPES, challenge_vendor, content_type_charset
from ingest.judge import PreparedPage, prepare_page
from ingest.record import accepted_keys_by_source
from ingest.results import FetchFailure
from storage.vocabulary import FailureKind

log = logging.getLogger(__name__)

FAILED = "policywatch_failed"  # the FetchFailure a response amounts to, already decided here
DECLINED = "policywatch_ladder_declined"  # why the browser was not tried
PREPARED = "policywatch_prepared"  # the page's extraction (ingest.judge.PreparedPage), worked out here

# Containers that client-side applications (React, Next.js, Vue, Nuxt, Gatsby) render into.
_APP_SHELL = etree.XPath("//*[@id='root' or @id='app' or @id='__next' or @id='__nuxt' or @id='___gatsby' "
                         "or @data-reactroot]")
_MENTIONS_JAVASCRIPT = re.compile(r"javascript", re.I)
# A page with scripts and less text than this (scripts aside) is a shell that its scripts fill in.
SHELL_TEXT_CHARS = 200


def response_headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}


def needs_scripts(body: bytes) -> bool:
    """Whether the page cannot be read without running its scripts: it says so in a `<noscript>`, or it is a
    shell that its scripts fill in (an empty application root, or next to no text)."""
    if b"<script" not in body.lower():
        return False
    try:
        root = lxml.html.document_fromstring(body)
    except (etree.LxmlError, ValueError):
        return False
    if next(root.iter("script"), None) is None:
        return False
    if any(_MENTIONS_JAVASCRIPT.search(n.text_content()) for n in root.iter("noscript")):
        return True
    if any(not shell.text_content().strip() for shell in _APP_SHELL(root)):
        return True
    page = root.find("body")
    if page is None:
        return True
    for hidden in list(page.iter("script", "style", "noscript", "template")):
        hidden.drop_tree()
    return len(" ".join(page.text_content().split())) < SHELL_TEXT_CHARS


def blocked(response: Response, source: Source, known_key: str | None = None) -> tuple[FetchFailure | None,
                                                                                     PreparedPage | None]:
    """What blocked a plain fetch, worded as the fetch guard would (None if it was not blocked), and the
    page's extraction when it is an HTML page that may become a version.

    The page is parsed once, for its extraction; whether it needs scripts is
    asked (parsing it again) only when its selector found nothing.
    ``known_key``: the content key the page had at the source's latest
    accepted fetch (see ``ingest.judge.prepare_page``).
    """
    status, url = response.status, response.url
    vendor = challenge_vendor(response.body, status, response_headers(response))
    if vendor is not None and (status in BLOCKING_STATUSES or 200 <= status < 300):
        return FetchFailure(FailureKind.BOT_CHALLENGE, f"HTTP {status} {vendor} challenge page at {url}", status, url), None
    if not 200 <= status < 300:
        return None, None
    media, charset = content_type_charset(response.headers.get(b"Content-Type", b"").decode("latin-1"))
    if media and media not in HTML_TYPES:
        return None, None
    # Searched for a challenge's markers above: the guard need not search these bytes again.
    prepared = replace(prepare_page(response.body, source.rules, charset, known_key), screened=True)
    miss = prepared.error if prepared.error is not None and prepared.error.kind in ("selector_miss", "empty") else None
    if miss is None or not needs_scripts(response.body):
        return None, prepared
    return FetchFailure(miss.kind, f"{url}: {miss.detail}, in a page that needs JavaScript", status, url), prepared


def is_connection_reset(exception: BaseException) -> bool:
    """A reset before any answer, which is how some bot protection turns crawlers away; a connection
    lost in the middle of a body is a server fault, not a block."""
    from twisted.internet.error import ConnectionLost

    cause: BaseException | None = exception
    while cause is not None:  # Scrapy wraps Twisted's errors (DownloadFailedError from ResponseNeverReceived)
        if isinstance(cause, (ConnectionLost, ConnectionResetError)):
            return True
        if type(cause).__name__ == "ResponseNeverReceived":
            return any(reason.check(ConnectionLost, ConnectionResetError) for reason in cause.reasons)
        cause = cause.__cause__
    return False


def with_note(failure: FetchFailure, meta: Mapping[str, Any]) -> FetchFailure:
    """The failure, saying why the browser was not tried when the ladder would have tried it."""
    declined = meta.get(DECLINED)
    return replace(failure, detail=f"{failure.detail}; {declined}") if declined else failure


def rendered(request: Request, response: Response, maxsize: int = 0) -> Response:
    """The browser's response as the guard must see it: the status and headers of the document finally
    shown (a challenge script may have reloaded the page), the DOM as UTF-8.

    A page whose selected text never stopped changing is marked as a timeout:
    a page captured mid-render must not become a version. The download limit
    applies to the rendered page as it does to a plain fetch.
    """
    status, headers = response.status, response_headers(response)
    document = request.meta.get(browser.DOCUMENT)
    if document is not None:
        status, _, headers = document
    if browser.settle_outcome(request.meta) == "changing":
        request.meta[FAILED] = FetchFailure(
            FailureKind.TIMEOUT, f"{response.url}: the text was still changing when the headless browser stopped waiting for "
            "it to settle", status, response.url)
    media, _ = content_type_charset(headers.get("content-type"))
    if not isinstance(response, TextResponse) or (media and media not in HTML_TYPES):
        return response.replace(status=status)
    headers = browser.document_headers(headers)
    headers["content-type"] = f"{media or 'text/html'}; charset=utf-8"
    body = response.text.encode("utf-8")
    if maxsize and len(body) > maxsize:
        request.meta[FAILED] = FetchFailure(FailureKind.OVERSIZE, f"{response.url}: the rendered page is {len(body)} bytes, "
                                            f"over the download limit of {maxsize}", status, response.url)
    return response.replace(status=status, headers=headers, body=body, encoding="utf-8")


class BrowserLadderMiddleware:
    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.unavailable = browser.browser_available(crawler.settings.get("POLICYWATCH_CHROMIUM",
                                                                          browser.DEFAULT_CHROMIUM))

        # Content keys of each source's latest accepted fetch, read when the spider opens (after the
        # pipeline has brought the schema up to date).
        self.known_keys: dict[str, tuple[str | None, ...]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> "BrowserLadderMiddleware":
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Any = None) -> None:
        db_url = self.crawler.settings.get("POLICYWATCH_DB")
        selected = getattr(self.crawler.spider, "selected", [])
        if db_url and selected:
            self.known_keys = accepted_keys_by_source(db_url, [s.id for s in selected])

    def _known_key(self, request: Request, source: Source) -> str | None:
        keys = self.known_keys.get(source.id, ())
        index = request.meta.get("index", 0)
        return keys[index] if index < len(keys) else None

    def _source(self, request: Request) -> Source | None:
        """The source a plain page request fetches; None for robots.txt, browser requests and second tries."""
        if request.meta.get("playwright") or request.meta.get(browser.LADDER) or "source_id" not in request.meta:
            return None
        return getattr(self.crawler.spider, "sources_by_id", {}).get(request.meta["source_id"])

    def _climb(self, request: Request, source: Source, why: str) -> Request | None:
        if self.unavailable is not None:
            request.meta[DECLINED] = (f"the headless browser would be tried next, but it is not available "
                                      f"({self.unavailable}): {browser.INSTALL_HINT}")
            return None
        log.info("%s: %s; fetching it again with the headless browser", source.id, why)
        self.crawler.stats.inc_value("policywatch/ladder/browser")
        meta = {**request.meta, **browser.browser_meta(source, self.crawler.settings)}
        return request.replace(meta=meta)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        # A retried request carries a copy of the meta its earlier try left behind.
        request.meta.pop(FAILED, None)
        request.meta.pop(DECLINED, None)
        request.meta.pop(PREPARED, None)
        if "playwright" in response.flags:
            # The browser already waited for the page; retrying would only launch it again.
            request.meta["dont_retry"] = True
            return rendered(request, response, self.maxsize)
        source = self._source(request)
        if source is None or request.meta.get(TRUNCATED):
            return response
        failure, prepared = blocked(response, source, self._known_key(request, source))
        if prepared is not None:
            request.meta[PREPARED] = prepared
        if failure is None:
            return response
        retry = self._climb(request, source, failure.detail)
        if retry is None:
            # A challenge page answers the same way however often it is asked.
            request.meta[FAILED] = failure
            request.meta["dont_retry"] = True
            return response
        return retry

    def process_exception(self, request: Request, exception: BaseException, spider: Any = None) -> Request | None:
        request.meta.pop(DECLINED, None)
        source = self._source(request)
        if source is None or not is_connection_reset(exception):
            return None
        return self._climb(request, source, f"{request.url}: the connection was reset before any answer")
