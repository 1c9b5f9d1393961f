"""The storage pipeline: every fetched document is guarded, extracted and recorded."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from sqlalchemy import select

from crawler.items import FetchedDocument
from ingest.judge import GuardPolicy
from ingest.record import store_outcome
from ingest.results import FetchFailure, SourceResult
from ingest.runs import begin_run, end_run
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import FetchOutcome
from storage.vocabulary import FailureKind, RunKind

log = logging.getLogger(__name__)


def crawl_time(settings: BaseSettings) -> datetime | None:
    """A fixed time for every record of this crawl (replays and the demo), or None for the clock."""
    value = settings.get("POLICYWATCH_NOW")
    if not value:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class StoragePipeline:
    """Records each fetched document in a worker thread of its own.

    Judging, extracting what the fetch ladder did not, and analysing a changed
    page run there, off the reactor, so the crawl keeps fetching meanwhile. One
    worker: sources are recorded one after the other, each in its own
    transaction, as before.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.db_url: str = crawler.settings.get("POLICYWATCH_DB")
        self.fixed_time = crawl_time(crawler.settings)
        self.policy = GuardPolicy(crawler.settings.getfloat("POLICYWATCH_TOO_SHORT_FRACTION", GuardPolicy.min_fraction),
                                  crawler.settings.getint("POLICYWATCH_FAILING_AFTER_RUNS", GuardPolicy.confirm_after))
        self.results: list[SourceResult] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        return cls(crawler)

    def now(self) -> datetime:
        return self.fixed_time or datetime.now(timezone.utc)

    def open_spider(self, spider=None) -> None:  # type: ignore[no-untyped-def]
        self.engine = make_engine(self.db_url)
        upgrade(self.engine, say=log.info)
        self.factory = session_factory(self.engine)
        self.run_id = begin_run(self.factory, RunKind.CRAWL, self.now(), say=log.warning)
        self.crawler.stats.set_value("policywatch/run_id", self.run_id)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policywatch-record")

    async def process_item(self, item: FetchedDocument, spider=None) -> FetchedDocument:  # type: ignore[no-untyped-def]
        await asyncio.get_running_loop().run_in_executor(self.worker, self.record, item)
        return item

    def record(self, item: FetchedDocument) -> None:
        source = self.crawler.spider.sources_by_id[item.source_id]
        try:
            result = store_outcome(self.factory, self.run_id, source, self.now(), item.pages, item.failure,
                                   self.policy, item.prepared)
        except Exception as exc:  # one source's trouble must not stop the others
            log.exception("recording %s failed", source.id)
            result = store_outcome(self.factory, self.run_id, source, self.now(), [],
                                   FetchFailure(FailureKind.ERROR, f"{type(exc).__name__}: {exc}"))
        self.results.append(result)
        if result.failure:
            log.warning("%s: failed (%s) %s", source.id, result.failure.kind, result.failure.detail)
        else:
            log.info("%s: %s (version %s)", source.id, result.outcome, result.version_number)

    def close_spider(self, spider=None) -> None:  # type: ignore[no-untyped-def]
        self.worker.shutdown(wait=True)
        spider = self.crawler.spider
        with transaction(self.factory) as session:
            seen = set(session.scalars(select(FetchOutcome.source_id).where(FetchOutcome.run_id == self.run_id)))
        reason = self.crawler.stats.get_value("finish_reason") or "unknown"
        for source in spider.selected:
            if source.id not in seen:
                self.results.append(store_outcome(self.factory, self.run_id, source, self.now(), [], FetchFailure(
                    FailureKind.NOT_FETCHED, f"the crawl ended ({reason}) before {source.id} was fetched")))
        end_run(self.factory, self.run_id, self.now())
        self.engine.dispose()
