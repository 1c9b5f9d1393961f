"""The `policies` spider: fetch every page of every declared source.

It only fetches. Guarding, extraction and storage happen in the pipelines, and
retries, throttling, robots.txt and the fetch ladder (crawler/ladder.py) in
downloader middlewares and settings. Sources declared `fetch: browser` are
sent to the headless browser (crawler/browser.py) from the start.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator

from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.browser import DEFAULT_CHROMIUM, INSTALL_HINT, LADDER, browser_available, browser_meta
from crawler.failures import classify_download_failure
from crawler.completeness import TRUNCATED
from crawler.items import FetchedDocument
from crawler.ladder import FAILED, PREPARED, response_headers, with_note
from ingest.judge import PreparedPage
from crawler.loaded import declared_sources
from ingest.declarations import FETCHED_SCHEMES, Source, select_sources
from ingest.results import FetchFailure
from storage.record import RawPage
from storage.vocabulary import FailureKind


# Error responses reach the pipeline, where the fetch guard records them;
# redirects (3xx) are still followed by Scrapy's redirect middleware.
ERROR_STATUSES = list(range(400, 600))


class PoliciesSpider(scrapy.Spider):
    name = "policies"

    def __init__(self, only: str | list[str] | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._only = only.split(",") if isinstance(only, str) else list(only or [])

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):  # type: ignore[no-untyped-def]
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.selected = spider.choose_sources(crawler.settings)
        spider.sources_by_id = {s.id: s for s in spider.selected}
        spider.browser_unavailable = browser_available(crawler.settings.get("POLICYWATCH_CHROMIUM", DEFAULT_CHROMIUM))
        return spider

    def choose_sources(self, settings: Any) -> list[Source]:
        all_sources = declared_sources(settings)
        return select_sources(all_sources, self._only or settings.getlist("POLICYWATCH_ONLY"))

    async def start(self) -> AsyncIterator[Any]:
        for source in self.selected:
            bad = next((u for u in source.urls if urlsplit(u).scheme not in FETCHED_SCHEMES), None)
            if bad is not None:
                yield FetchedDocument(source.id, failure=FetchFailure(
                    FailureKind.FORBIDDEN_URL, f"{bad}: policywatch fetches http(s) URLs only", url=bad))
                continue
            if source.fetch == "browser" and self.browser_unavailable:
                yield FetchedDocument(source.id, failure=FetchFailure(
                    FailureKind.UNSUPPORTED_FETCH, f"fetch mode 'browser' needs the browser extra, which this installation "
                    f"does not have ({self.browser_unavailable}): {INSTALL_HINT}"))
                continue
            yield self.page_request(source, 0, [], browser=source.fetch == "browser")

    def page_request(self, source: Source, index: int, pages: list[RawPage], browser: bool = False,
                     prepared: list[PreparedPage | None] | None = None) -> scrapy.Request:
        meta = {"source_id": source.id, "index": index, "pages": pages, "prepared": prepared or [],
                "handle_httpstatus_list": ERROR_STATUSES}
        if browser:
            meta.update(browser_meta(source, self.settings))
        return scrapy.Request(source.urls[index], callback=self.parse_page, errback=self.fetch_failed,
                              dont_filter=True, meta=meta)

    def parse_page(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        source = self.sources_by_id[meta["source_id"]]
        content_type = response.headers.get(b"Content-Type")
        page = RawPage(
            url=source.urls[meta["index"]], final_url=response.url, status=response.status,
            content_type=content_type.decode("latin-1") if content_type else None, body=response.body,
            headers=response_headers(response),
        )
        pages = [*meta["pages"], page]
        ready = meta.get(PREPARED)
        prepared = [*meta.get("prepared", []), ready if ready is not None and ready.body is response.body else None]
        failure = meta.get(FAILED) or meta.get(TRUNCATED)
        if failure is not None:
            # The refused page is kept with the failure, as evidence of what was served instead;
            # a page over the download limit is not.
            kept = meta["pages"] if failure.kind == FailureKind.OVERSIZE else pages
            yield FetchedDocument(source.id, kept, failure=with_note(failure, meta))
        elif 200 <= response.status < 300 and len(pages) < len(source.urls):
            # A site that needed the browser for one page will need it for the next.
            yield self.page_request(source, len(pages), pages, browser=meta.get(LADDER) == "browser", prepared=prepared)
        else:
            yield FetchedDocument(source.id, pages, prepared=prepared)

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield FetchedDocument(request.meta["source_id"],
                              failure=with_note(classify_download_failure(failure, request.url, request.meta),
                                                request.meta))
