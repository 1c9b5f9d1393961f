"""The `news` spider: read every enabled news source's feed, sitemap or GDELT query, and the article pages
they point at.

It only fetches. Which items are fetched (already known? named vendor? the
night's budget?) and which known articles are due again is decided by the
frontier spider middleware (crawler/news_frontier.py), each site's TDMRep
rules are read by a downloader middleware, GDELT's one request per five
seconds is a spaced host (crawler/middlewares.py), robots.txt, the user
agent and per-domain politeness are the crawler's settings, and everything
is judged and recorded by the news pipeline (crawler/news_pipeline.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.completeness import TRUNCATED
from crawler.failures import classify_download_failure
from crawler.ladder import response_headers
from crawler.news_items import NewsDocument, NewsPage
from crawler.settings import NEWS_COMPONENTS
from ingest.news.declarations import NewsConfig, NewsSource, load_news, select_news
from ingest.news.discovery import GDELT_API, request_url
from ingest.news.night import ArticleTarget, Fetched

# Error responses reach the pipeline, which records them with their kind.
ERROR_STATUSES = list(range(400, 600))
NEWS_SOURCE = "policywatch_news_source"
FOLLOW_SITEMAPS = "policywatch_follow_sitemaps"
NEWS_TARGET = "policywatch_news_target"
TDMREP_RULES = "policywatch_tdmrep_rules"


def fetched_from(response: Response, **extra: Any) -> Fetched:
    """The response as the news night reads it; one that stayed cut short after its retries
    (`crawler.completeness`) is a failure, never a page: a partial article would read as the whole one, and the
    whole one, fetched later, as the outlet's update."""
    return Fetched(url=response.request.url if response.request else response.url, final_url=response.url,
                   status=response.status, body=response.body, headers=response_headers(response),
                   failure=response.meta.get(TRUNCATED), **extra)


class NewsSpider(scrapy.Spider):
    name = "news"
    custom_settings = NEWS_COMPONENTS

    config: NewsConfig
    selected: list[NewsSource]
    only: list[str]
    gdelt_api: str

    def __init__(self, only: str | list[str] | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._only = only.split(",") if isinstance(only, str) else list(only or [])

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):  # type: ignore[no-untyped-def]
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = load_news(Path(crawler.settings.get("POLICYWATCH_NEWS")))
        spider.only = spider._only or crawler.settings.getlist("POLICYWATCH_ONLY")
        spider.selected = select_news(spider.config.sources, spider.only)
        spider.gdelt_api = crawler.settings.get("POLICYWATCH_GDELT_API") or GDELT_API
        return spider

    async def start(self) -> AsyncIterator[Any]:
        for source in self.selected:
            yield self.document_request(source.id, request_url(source, gdelt_api=self.gdelt_api))

    def document_request(self, source_id: str, url: str, follow_sitemaps: bool = True) -> scrapy.Request:
        meta = {NEWS_SOURCE: source_id, FOLLOW_SITEMAPS: follow_sitemaps, "handle_httpstatus_list": ERROR_STATUSES}
        return scrapy.Request(url, callback=self.parse_document, errback=self.document_failed, dont_filter=True,
                              meta=meta)

    def article_request(self, target: ArticleTarget) -> scrapy.Request:
        return scrapy.Request(target.url, callback=self.parse_article, errback=self.article_failed, dont_filter=True,
                              meta={NEWS_TARGET: target, "handle_httpstatus_list": ERROR_STATUSES})

    def parse_document(self, response: Response) -> Iterator[NewsDocument]:
        yield NewsDocument(response.meta[NEWS_SOURCE], fetched_from(response), response.meta[FOLLOW_SITEMAPS])

    def document_failed(self, failure: Failure) -> Iterator[NewsDocument]:
        request = failure.request  # type: ignore[attr-defined]
        yield NewsDocument(request.meta[NEWS_SOURCE],
                           Fetched(request.url, failure=classify_download_failure(failure, request.url)),
                           request.meta[FOLLOW_SITEMAPS])

    def parse_article(self, response: Response) -> Iterator[NewsPage]:
        yield NewsPage(response.meta[NEWS_TARGET],
                       fetched_from(response, tdmrep_rules=tuple(response.meta.get(TDMREP_RULES, ()))))

    def article_failed(self, failure: Failure) -> Iterator[NewsPage]:
        request = failure.request  # type: ignore[attr-defined]
        yield NewsPage(request.meta[NEWS_TARGET],
                       Fetched(request.url, failure=classify_download_failure(failure, request.url)))
