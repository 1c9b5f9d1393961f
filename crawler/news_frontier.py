"""The news night inside Scrapy: the frontier that turns documents into article requests, and each site's
TDMRep rules.

`NewsFrontierMiddleware` (a spider middleware) asks the night what a fetched
feed, sitemap or GDELT answer gives (``ingest.news.night.NewsNight.plan``) and
yields the requests for it: child sitemaps and article pages. After the
spider's own start requests it adds the known articles due for their next
check. `TdmRepMiddleware` (a downloader middleware) reads each site's
``/.well-known/tdmrep.json`` once per night, before its first article page,
and hands the parsed rules to the request.

The night itself (one database, one run) is shared by the middlewares and the
pipeline through `night_of`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, AsyncIterator
from weakref import WeakKeyDictionary

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy import Engine

from crawler.loaded import MENTIONS_PLAN, handed
from crawler.news_items import NewsDocument
from crawler.pipelines import crawl_time
from crawler.spiders.news import NEWS_TARGET, TDMREP_RULES
from ingest.news.guard import TDMREP_PATH, TdmRepError, TdmRule, parse_tdmrep
from ingest.mentions import MentionsPlan
from ingest.news.limits import NightLimits
from ingest.news.night import NewsNight
from storage.db import make_engine, session_factory, upgrade
from storage.models import Run

log = logging.getLogger(__name__)

@dataclass
class _OpenNight:
    night: NewsNight
    engine: Engine


_NIGHTS: "WeakKeyDictionary[Crawler, _OpenNight]" = WeakKeyDictionary()


def night_of(crawler: Crawler) -> NewsNight:
    """The crawl's news night, opened (database upgraded, run begun) the first time it is asked for."""
    opened = _NIGHTS.get(crawler)
    if opened is not None:
        return opened.night
    settings = crawler.settings
    engine = make_engine(settings.get("POLICYWATCH_DB"))
    upgrade(engine, say=log.info)
    fixed = crawl_time(settings)
    spider: Any = crawler.spider
    limits = NightLimits(
        max_candidates=settings.getint("POLICYWATCH_NEWS_MAX_CANDIDATES", NightLimits.max_candidates),
        max_refetches=settings.getint("POLICYWATCH_NEWS_MAX_REFETCHES", NightLimits.max_refetches))
    claims = settings.get("POLICYWATCH_CLAIMS")
    mentions = handed(settings, MENTIONS_PLAN) or (MentionsPlan.for_night(Path(claims), limits) if claims else None)
    night = NewsNight(session_factory(engine), spider.config, spider.selected,
                      now=lambda: fixed or datetime.now(timezone.utc), limits=limits,
                      refetch_sources=[s.id for s in spider.selected] if spider.only else None, say=log.warning,
                      mentions=mentions)
    night.open()
    crawler.stats.set_value("policywatch/run_id", night.run_id)
    _NIGHTS[crawler] = _OpenNight(night, engine)
    return night


def close_night(crawler: Crawler) -> Run | None:
    """Finish the crawl's news run with its counts, if it was opened."""
    opened = _NIGHTS.pop(crawler, None)
    if opened is None:
        return None
    try:
        return opened.night.close()
    finally:
        opened.engine.dispose()


class NewsFrontierMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "NewsFrontierMiddleware":
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item_or_request in start:
            yield item_or_request
        spider: Any = self.crawler.spider
        for target in night_of(self.crawler).refetch_targets():
            yield spider.article_request(target)

    async def process_spider_output(self, response: Any, result: AsyncIterator[Any],
                                    spider: Any = None) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        async for output in result:
            if not isinstance(output, NewsDocument) or output.plan is not None:
                yield output
                continue
            plan = night_of(self.crawler).plan(output.source_id, output.fetched,
                                               follow_sitemaps=output.follow_sitemaps)
            yield replace(output, plan=plan)
            for url in plan.sitemaps:
                yield spider.document_request(output.source_id, url, follow_sitemaps=False)
            for target in plan.targets:
                yield spider.article_request(target)


class TdmRepMiddleware:
    """Each site's TDMRep rules, read once per crawl before its first article page."""

    PRIORITY = 1000  # ahead of the pages waiting for it

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._rules: dict[str, asyncio.Future[tuple[TdmRule, ...]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TdmRepMiddleware":
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if NEWS_TARGET not in request.meta or TDMREP_RULES in request.meta:
            return None
        request.meta[TDMREP_RULES] = await self._rules_of(request)
        return None

    async def _rules_of(self, request: Request) -> tuple[TdmRule, ...]:
        parts = urlparse_cached(request)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._rules:
            self._rules[site] = asyncio.get_running_loop().create_future()
            self._rules[site].set_result(await self._read(site))
        return await self._rules[site]

    async def _read(self, site: str) -> tuple[TdmRule, ...]:
        url = site + TDMREP_PATH
        try:
            response = await self.crawler.engine.download_async(
                Request(url, priority=self.PRIORITY, callback=NO_CALLBACK, meta={"handle_httpstatus_all": True}))
        except Exception as exc:  # a site without a reachable file reserves nothing by it
            log.info("%s: not read (%s); no TDMRep rules from it", url, exc)
            return ()
        if response.status != 200:
            return ()
        try:
            return parse_tdmrep(response.body)
        except TdmRepError as exc:
            log.warning("%s: %s; its rules count as unset", url, exc)
            return ()
