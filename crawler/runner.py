"""Running the spiders from Python (the CLI and the demo): `policies`, then `news`.

Twisted's reactor cannot be restarted within one process, so several crawls
(the nightly job's two, the demo's simulated days) run one after another
inside a single reactor run.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from scrapy import Spider
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.reactor import install_reactor

from crawler.pipelines import DATABASE_ERROR, RUN_ID, UNRECORDED
from crawler.settings import REACTOR, CrawlOptions, scrapy_settings
from crawler.spiders.policies import PoliciesSpider
from storage.db import DatabaseError


@dataclass(frozen=True)
class CrawlResult:
    run_id: int
    unrecorded: tuple[tuple[str, str], ...] = ()  # (source id, why) of sources the database would not take


@dataclass(frozen=True)
class CrawlPlan:
    only: Sequence[str] = ()  # source ids (policies) or news source ids (news)
    now: datetime | None = None
    before: Callable[[], None] | None = None  # called just before this crawl starts
    spider: type[Spider] = PoliciesSpider


def news_plan(only: Sequence[str] = (), now: datetime | None = None,
              before: Callable[[], None] | None = None) -> CrawlPlan:
    # The news spider brings the news pipeline and its syndication index (datasketch, SciPy: about 1.5 CPU-s to
    # import): loaded only by the commands that crawl the news.
    from crawler.spiders.news import NewsSpider

    return CrawlPlan(only, now, before, NewsSpider)


def _settings(settings: CrawlOptions, plan: CrawlPlan, extra: dict[str, Any], priority: str = "cmdline",
              time_left: float | None = None) -> ScrapySettings:
    values = scrapy_settings(settings)
    # A spider's own components (the news pipeline and middlewares) must outrank the shared ones here.
    values.update(plan.spider.custom_settings or {})
    values.update(extra)
    values["POLICYWATCH_ONLY"] = list(plan.only)
    values["POLICYWATCH_NOW"] = plan.now.isoformat() if plan.now else None
    if time_left is not None:
        # Scrapy reads 0 as no limit: a crawl started after the time ran out still gets a second to record its run.
        values["CLOSESPIDER_TIMEOUT"] = max(1.0, time_left)
    # CrawlerProcess merges its own settings into each Crawler, overriding
    # values of equal priority: the per-crawl ones must rank higher.
    return ScrapySettings(values, priority=priority)


def _result(crawler: Crawler) -> CrawlResult:
    problem = crawler.stats.get_value(DATABASE_ERROR)
    if problem:
        raise DatabaseError(f"nothing was crawled: {problem}")
    return CrawlResult(crawler.stats.get_value(RUN_ID), tuple(crawler.stats.get_value(UNRECORDED) or ()))


def make_crawler(settings: CrawlOptions, plan: CrawlPlan, extra: dict[str, Any] | None = None) -> Crawler:
    """A crawler to start inside a reactor that is already running (a worker's, which runs many crawls)."""
    return Crawler(plan.spider, _settings(settings, plan, extra or {}))


async def crawl_in_running_reactor(settings: CrawlOptions, plan: CrawlPlan, extra: dict[str, Any] | None = None
                                   ) -> CrawlResult:
    if plan.before is not None:
        plan.before()
    crawler = make_crawler(settings, plan, extra)
    await crawler.crawl_async()
    return _result(crawler)


def run_crawls(settings: CrawlOptions, plans: Sequence[CrawlPlan], extra: dict[str, Any] | None = None
               ) -> list[CrawlResult]:
    """Run the crawls in order, all of them within `settings.night_time_limit` seconds (each one is closed when the
    time left runs out, and records what it did not reach as not fetched); what each one recorded. DatabaseError
    when the database could not be used at all."""
    from twisted.internet import defer

    extra = extra or {}
    # Each crawl is handed its spider class: Scrapy's spider loader need not import every spider module (the
    # news spider's brings its syndication index, about 1.5 CPU-s, to a crawl of the policies).
    process = CrawlerProcess(_settings(settings, CrawlPlan(), {**extra, "SPIDER_MODULES": []}, priority="project"))
    results: list[CrawlResult] = []
    deadline = time.monotonic() + settings.night_time_limit
    errors: list[BaseException] = []

    @defer.inlineCallbacks
    def sequence():  # type: ignore[no-untyped-def]
        from twisted.internet import reactor
        try:
            for plan in plans:
                if plan.before is not None:
                    plan.before()
                crawler = Crawler(plan.spider, _settings(settings, plan, extra,
                                                         time_left=deadline - time.monotonic()))
                yield process.crawl(crawler)
                results.append(_result(crawler))
        except BaseException as exc:
            errors.append(exc)
        finally:
            reactor.callLater(0, reactor.stop)  # type: ignore[attr-defined]

    if "twisted.internet.reactor" not in sys.modules:
        install_reactor(REACTOR)
    from twisted.internet import reactor
    reactor.callWhenRunning(sequence)  # type: ignore[attr-defined]
    # What start-up built (modules, declarations, settings) lives as long as the process: frozen, the cyclic
    # collector stops walking it on every full collection of the night (bench/crawl_speed.py).
    gc.collect()
    gc.freeze()
    process.start(stop_after_crawl=False)
    if errors:
        raise errors[0]
    return results
