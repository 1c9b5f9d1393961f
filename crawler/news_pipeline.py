"""The news pipeline: every fetched news document and article page is judged and recorded by the night."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler

from crawler.news_frontier import close_night, night_of
from crawler.news_items import NewsDocument, NewsPage
from ingest.news.night import DocumentPlan, Fetched, PageResult
from ingest.results import FetchFailure
from storage.vocabulary import FailureKind

log = logging.getLogger(__name__)


class NewsPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.results: list[PageResult] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "NewsPipeline":
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        night_of(self.crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        night = night_of(self.crawler)
        if isinstance(item, NewsDocument):
            plan = item.plan or night.plan(item.source_id, item.fetched, follow_sitemaps=item.follow_sitemaps)
            try:
                night.record_document(plan)
            except Exception as exc:  # one source's trouble must not stop the others
                log.exception("recording %s failed", item.source_id)
                plan = DocumentPlan(replace(plan.reading, failure_kind=FailureKind.ERROR,
                                            detail=f"{type(exc).__name__}: {exc}"))
                night.record_document(plan)
            reading = plan.reading
            if reading.failure_kind:
                log.info("%s: failed (%s) %s", item.source_id, reading.failure_kind, reading.detail)
            else:
                log.info("%s: %d items, %d to fetch, %d known", item.source_id, reading.items_seen,
                         len(plan.targets), len(plan.seen_again))
        elif isinstance(item, NewsPage):
            try:
                result = night.record_page(item.target, item.fetched)
            except Exception as exc:  # one page's trouble must not stop the others
                log.exception("recording %s failed", item.target.url)
                result = night.record_page(item.target, Fetched(item.target.url, failure=FetchFailure(
                    FailureKind.ERROR, f"{type(exc).__name__}: {exc}", url=item.target.url)))
            self.results.append(result)
            log.info("%s: %s%s", item.target.url, result.outcome,
                     f" ({result.failure_kind}: {result.detail})" if result.failure_kind else "")
        return item

    def close_spider(self, spider: Any = None) -> None:
        close_night(self.crawler)
