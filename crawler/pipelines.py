"""The storage pipeline: every fetched document is guarded, extracted and recorded.

What the database does to a crawl is said in one line, never as a crash:
a database that cannot be opened or is locked past `lock_timeout` ends the
crawl before anything is fetched (`DATABASE_ERROR` in the stats); a source
that cannot be written (disk full, I/O error) is listed as not recorded
(`UNRECORDED`) while the others carry on; a source an import is writing is
recorded once the import has finished with it.

On SQLite, a fetch with nothing to analyse (a failure, a first version, the
current text again) is recorded in the crawl's own thread, on an engine that
never waits for another writer's lock (`ingest.record.store_quickly`); a
change to analyse, a fetch that would have to wait, and every fetch on a
database server go to a worker thread, so that fetching goes on meanwhile.

A crawl of one job of a distributed night (`NIGHT_CLAIM` in the settings)
records into the night's run, under the job's lease: it neither begins nor
ends a run nor evaluates claims (the coordinator does both, as this pipeline
does for a crawl of its own), and stops as soon as the lease is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.settings import BaseSettings
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from crawler.fetchlog import logs_at
from crawler.items import FetchedDocument
from analysis.claims import DEFAULT_TIME_LIMIT
from ingest.claims import ClaimsPlan
from crawler.loaded import CLAIMS_PLAN, declared_sources, handed
from ingest.judge import GuardPolicy
from ingest.night import LeaseLost, NightClaim
from ingest.record import AlreadyRecorded, BehindTheRecord, SourceBusy, store_outcome, store_quickly
from ingest.results import FetchFailure, SourceResult
from ingest.runs import begin_run, end_run
from storage.db import LOCK_TIMEOUT, DatabaseError, database_problem, make_engine, reading, session_factory, upgrade
from storage.models import FetchOutcome
from storage.vocabulary import FailureKind, Outcome, RunKind

log = logging.getLogger(__name__)

# Stats keys the commands read after the crawl.
RUN_ID = "policywatch/run_id"
DATABASE_ERROR = "policywatch/database_error"
UNRECORDED = "policywatch/unrecorded"  # [(source id, why)] of sources that could not be written
LEASE_LOST = "policywatch/lease_lost"  # why a job's crawl stopped recording: its job is no longer this worker's
# The setting that makes a crawl one job of a distributed night: a NightClaim.
NIGHT_CLAIM = "POLICYWATCH_NIGHT_CLAIM"
# How long a fetched source waits for an import that is writing the same source.
SOURCE_WAIT_SECONDS = 600.0
SOURCE_WAIT_STEP = 0.25


def crawl_time(settings: BaseSettings) -> datetime | None:
    """A fixed time for every record of this crawl (replays and the demo), or None for the clock."""
    value = settings.get("POLICYWATCH_NOW")
    if not value:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def claims_plan(settings: BaseSettings) -> ClaimsPlan | None:
    """Claims evaluated around the crawl's run (``ingest.claims``), against every declared source."""
    location = settings.get("POLICYWATCH_CLAIMS")
    if not location:
        return None
    plan = handed(settings, CLAIMS_PLAN)
    if plan is not None:  # the command's, its claims compiled already
        return plan
    return ClaimsPlan(Path(location), declared_sources(settings),
                      settings.getfloat("POLICYWATCH_CLAIM_TIME_LIMIT", DEFAULT_TIME_LIMIT))


# What recording a source raises for `_store` and `process_item` to handle: the source waits, the database cannot
# be written, the source is recorded already, or the job's lease is lost.
_CALLERS = (SourceBusy, BehindTheRecord, DBAPIError, AlreadyRecorded, LeaseLost)


class StoragePipeline:
    """Records each fetched document: in the crawl's thread when that needs neither analysis nor waiting
    (`_record_quickly`, SQLite only), else in a worker thread of its own.

    Judging, extracting what the fetch ladder did not, and analysing a changed
    page run in the worker, off the reactor, so the crawl keeps fetching
    meanwhile. Each source is recorded in its own transaction; the worker
    records one source after another, and a transaction in the crawl's thread
    may run while it analyses (SQLite lets one of them write at a time).
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.db_url: str = crawler.settings.get("POLICYWATCH_DB")
        self.lock_timeout = crawler.settings.getfloat("POLICYWATCH_LOCK_TIMEOUT", LOCK_TIMEOUT)
        self.quiet = crawler.settings.getbool("POLICYWATCH_QUIET")
        # A line per source at INFO, not built where the crawl's log drops it (see crawler.fetchlog).
        self.log_results = logs_at(crawler.settings, logging.INFO)
        self.fixed_time = crawl_time(crawler.settings)
        self.policy = GuardPolicy(crawler.settings.getfloat("POLICYWATCH_TOO_SHORT_FRACTION", GuardPolicy.min_fraction),
                                  crawler.settings.getint("POLICYWATCH_FAILING_AFTER_RUNS", GuardPolicy.confirm_after))
        self.results: list[SourceResult] = []
        self.run_id: int | None = None
        self.unrecorded: list[tuple[str, str]] = []
        self.claim: NightClaim | None = crawler.settings.get(NIGHT_CLAIM)
        self.engine: Engine | None = None
        self.quick_engine: Engine | None = None
        self.quick_factory: sessionmaker[Session] | None = None
        # A job of a distributed night evaluates no claims: its coordinator does, around the night's run.
        self.claims = claims_plan(crawler.settings) if self.claim is None else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        return cls(crawler)

    def now(self) -> datetime:
        return self.fixed_time or datetime.now(timezone.utc)

    def open_spider(self, spider=None) -> None:  # type: ignore[no-untyped-def]
        self.opened = time.monotonic()
        try:
            self.engine = make_engine(self.db_url, self.lock_timeout, say_waiting=None if self.quiet else log.warning)
            if self.claim is None:
                upgrade(self.engine, say=log.info)
            self.factory = session_factory(self.engine)
            # For the fetches recorded in the crawl's own thread, on SQLite: they never wait for another writer's
            # lock (a lock timeout of 0). A database server is left to the worker: each statement there is a round
            # trip the crawl's thread would wait for.
            if self.engine.dialect.name == "sqlite":
                self.quick_engine = make_engine(self.db_url, lock_timeout=0.0)
                self.quick_factory = session_factory(self.quick_engine)
            self.run_id = (begin_run(self.factory, RunKind.CRAWL, self.now(), say=log.warning, claims=self.claims)
                           if self.claim is None else self.claim.run_id)
        except (DBAPIError, DatabaseError) as exc:
            message = database_problem(exc, self.lock_timeout)
            self.crawler.stats.set_value(DATABASE_ERROR, message)
            raise CloseSpider(reason="database_unavailable") from None
        self.crawler.stats.set_value(RUN_ID, self.run_id)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policywatch-record")

    def _not_recorded(self, source_id: str, why: str) -> SourceResult:
        self.unrecorded.append((source_id, why))
        self.crawler.stats.set_value(UNRECORDED, list(self.unrecorded))
        log.info("%s: not recorded: %s", source_id, why)  # the command prints it
        return SourceResult(source_id, Outcome.FAILED, failure=FetchFailure(FailureKind.ERROR, f"not recorded: {why}"))

    def _record(self, source, pages, failure, prepared) -> SourceResult:  # type: ignore[no-untyped-def]
        """In the worker thread: the source recorded, or its failure to record (a waiting source and a
        database that cannot be written are the caller's to handle)."""
        assert self.run_id is not None
        try:
            return store_outcome(self.factory, self.run_id, source, self.now(), pages, failure, self.policy, prepared,
                                 claim=self.claim)
        except _CALLERS:
            raise
        except Exception as exc:  # one source's trouble must not stop the others
            log.exception("recording %s failed", source.id)
            try:
                return store_outcome(self.factory, self.run_id, source, self.now(), [],
                                     FetchFailure(FailureKind.ERROR, f"{type(exc).__name__}: {exc}"), claim=self.claim)
            except (AlreadyRecorded, LeaseLost):
                raise
            except Exception as again:
                return self._not_recorded(source.id, database_problem(again, self.lock_timeout))

    def _record_quickly(self, source, pages, failure, prepared) -> SourceResult | None:  # type: ignore[no-untyped-def]
        """In the crawl's thread, on SQLite: the source recorded if its fetch needs neither analysis nor waiting
        for the write lock (`store_quickly`); None for the worker to record."""
        assert self.run_id is not None
        if self.quick_factory is None:
            return None
        try:
            return store_quickly(self.quick_factory, self.run_id, source, self.now(), pages, failure, self.policy,
                                 prepared, claim=self.claim)
        except _CALLERS:
            raise
        except Exception:  # the worker meets it again and records it as the source's failure (`_record`)
            log.debug("%s: left to the worker", source.id, exc_info=True)
            return None

    async def _store(self, source, pages, failure, prepared) -> SourceResult:  # type: ignore[no-untyped-def]
        assert self.run_id is not None
        deadline = time.monotonic() + SOURCE_WAIT_SECONDS
        said = False
        loop = asyncio.get_running_loop()
        while True:
            try:
                # Most fetches of a night have nothing to analyse: recorded in this thread they cost less than
                # handed to the worker (1.6 CPU-s per 1,000 unchanged pages, README "Measured"). A change to
                # analyse, or a lock another writer holds, goes to the worker, and fetching goes on meanwhile.
                recorded = self._record_quickly(source, pages, failure, prepared)
                if recorded is not None:
                    return recorded
                return await loop.run_in_executor(self.worker, self._record, source, pages, failure, prepared)
            except SourceBusy as busy:
                if time.monotonic() > deadline:
                    return self._not_recorded(source.id, f"{busy} for more than {SOURCE_WAIT_SECONDS:.0f} s")
                if not said:
                    log.warning("%s: waiting: %s", source.id, busy)
                    said = True
                await asyncio.sleep(SOURCE_WAIT_STEP)

    async def process_item(self, item: FetchedDocument, spider=None) -> FetchedDocument:  # type: ignore[no-untyped-def]
        if self.run_id is None:
            return item
        source = self.crawler.spider.sources_by_id[item.source_id]
        if self.crawler.stats.get_value(LEASE_LOST):
            return item
        try:
            result = await self._store(source, item.pages, item.failure, item.prepared)
        except AlreadyRecorded as exc:
            log.info("%s: not recorded again: %s", source.id, exc)
            return item
        except LeaseLost as exc:
            self._lose_lease(str(exc))
            return item
        except BehindTheRecord as exc:
            result = self._not_recorded(source.id, str(exc))
        except DBAPIError as exc:  # the database, not this source: nothing more can be written for it
            result = self._not_recorded(source.id, database_problem(exc, self.lock_timeout))
        self.results.append(result)
        if self.log_results:
            if result.failure:
                log.info("%s: failed (%s) %s", source.id, result.failure.kind, result.failure.detail)  # the command prints it
            else:
                log.info("%s: %s (version %s)", source.id, result.outcome, result.version_number)

    def _lose_lease(self, why: str) -> None:
        if self.crawler.stats.get_value(LEASE_LOST):
            return
        self.crawler.stats.set_value(LEASE_LOST, why)
        log.warning("stopping: %s", why)
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="lease_lost"))

    def _dispose(self) -> None:
        for engine in (self.engine, self.quick_engine):
            if engine is not None:
                engine.dispose()

    def close_spider(self, spider=None) -> None:  # type: ignore[no-untyped-def]
        if self.claim is not None:
            # The job's task decides what its unfetched sources become: it knows whether the job goes on elsewhere.
            self._dispose()
            return
        if self.run_id is None:
            self._dispose()
            return
        self.worker.shutdown(wait=True)
        spider = self.crawler.spider
        # Scrapy sets the finish reason only after the pipelines are closed: a crawl that lasted its time limit
        # was ended by it.
        reason = self.crawler.stats.get_value("finish_reason") or "unknown"
        limit = self.crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        if limit > 0 and time.monotonic() - self.opened >= limit:
            reason = f"night_time_limit: the {limit:.0f} s left for this command's crawls ran out"
        try:
            with reading(self.factory) as session:
                seen = set(session.scalars(select(FetchOutcome.source_id).where(FetchOutcome.run_id == self.run_id)))
            seen |= {sid for sid, _ in self.unrecorded}
            for source in spider.selected:
                if source.id in seen:
                    continue
                try:
                    self.results.append(store_outcome(self.factory, self.run_id, source, self.now(), [], FetchFailure(
                        FailureKind.NOT_FETCHED, f"the crawl ended ({reason}) before {source.id} was fetched")))
                except SourceBusy as busy:
                    self._not_recorded(source.id, f"the crawl ended ({reason}) before it was fetched, and {busy}")
                except BehindTheRecord as behind:
                    self._not_recorded(source.id, f"the crawl ended ({reason}) before it was fetched, and {behind}")
            end_run(self.factory, self.run_id, self.now(), claims=self.claims, unrecorded=len(self.unrecorded))
        except DBAPIError as exc:
            # The run stays `running`; the next command marks it aborted.
            message = database_problem(exc, self.lock_timeout)
            log.error("the crawl could not be finished in the database: %s", message)
            seen = {sid for sid, _ in self.unrecorded}
            for source in spider.selected:
                if source.id not in seen and not any(r.source_id == source.id for r in self.results):
                    self._not_recorded(source.id, message)
        finally:
            self._dispose()
