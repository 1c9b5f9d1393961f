"""A worker of distributed nights: takes domain jobs from the queue and crawls each one.

One process runs one Twisted reactor for its whole life (a reactor cannot
be restarted), and procrastinate's asyncio worker runs inside it: the
reactor is Scrapy's asyncio reactor, so its event loop is the one
procrastinate's worker, its heartbeats and every job's Scrapy crawl share.
Each job is one Scrapy crawl of one domain's sources, started in that
running reactor and awaited; `--concurrency N` runs N such crawls side by
side. Starting a process per job would cost an interpreter and Scrapy's
start-up (about a CPU-second) for every domain, more than most domains'
fetching costs.

The worker registers in the record (`workers`) and beats there as it does
in procrastinate's own table; it hands the jobs of workers that stopped
beating to others (procrastinate finds them, nobody else retries them).
Heartbeats share the event loop with the crawls, so whatever blocks that
loop for long is done before the worker takes its first job: every crawl
component is imported when the worker is made (a first import takes seconds
on a busy host). A job handed back to the queue while this process still
runs an earlier attempt of it waits for that attempt to end here, so one
process never fetches a domain twice at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from scrapy.utils.misc import load_object
from sqlalchemy.orm import Session, sessionmaker

from crawler.queue import TASK, JobArgs, MAX_ATTEMPTS, make_app, retry_stalled, retry_strategy
from crawler.runner import CrawlPlan, make_crawler
from crawler.settings import REACTOR, CrawlOptions
from crawler.spiders.policies import PoliciesSpider
from ingest.declarations import Source, load_sources
from ingest.domains import declarations_digest
from ingest.night import LeaseLost, NightClaim
from ingest.record import AlreadyRecorded, BehindTheRecord, SourceBusy, store_outcome
from ingest.results import FetchFailure
from storage.db import reading, transaction
from storage.fleet import Lease, claim_job, finish_job, heartbeat, recorded_sources, register_worker, stop_worker
from storage.vocabulary import FailureKind, JobStatus

log = logging.getLogger(__name__)

T = TypeVar("T")
JOB_SOURCES = "POLICYWATCH_JOB_SOURCES"
# How long a stopping worker lets its running jobs finish before handing them back to the queue.
GRACEFUL_STOP_SECONDS = 10.0
# The settings naming the components a crawl loads (imported when a worker is made).
PRELOADED = ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES", "EXTENSIONS", "DOWNLOAD_HANDLERS")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class NightJobSpider(PoliciesSpider):
    """The `policies` spider over one job's sources, handed over by the worker (never read from files here)."""

    name = "night-job"

    def choose_sources(self, settings: Any) -> list[Source]:
        return list(settings.get(JOB_SOURCES) or ())


class JobInterrupted(RuntimeError):
    """A job's crawl stopped before its end (a database problem, the worker stopping): it goes back to the queue."""


class DeclarationsDiffer(RuntimeError):
    pass


class Declarations:
    """The worker's declarations, read again when a job names sources the copy in memory does not match."""

    def __init__(self, location: Path):
        self.location = location
        self.sources = load_sources(location)

    def pick(self, source_ids: Sequence[str], digest: str) -> list[Source]:
        for fresh in (False, True):
            if fresh:
                self.sources = load_sources(self.location)
            chosen = [self.sources[i] for i in source_ids if i in self.sources]
            if len(chosen) == len(source_ids) and declarations_digest(chosen) == digest:
                return chosen
        missing = [i for i in source_ids if i not in self.sources]
        raise DeclarationsDiffer(
            f"the declarations in {self.location} on this worker differ from the coordinator's"
            + (f" (no source {', '.join(missing[:3])})" if missing else " (same ids, other fields)")
            + ": every host must run the same declarations")


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    queues: tuple[str, ...] | None  # None: every queue
    concurrency: int = 2
    heartbeat: float = 10.0
    stalled_after: float = 60.0


class NightWorker:
    """One worker process: its registration, its queue connection, and the jobs it runs."""

    def __init__(self, options: CrawlOptions, spec: WorkerSpec, factory: sessionmaker[Session],
                 crawl_settings: dict[str, Any] | None = None):
        self.options, self.spec, self.factory = options, spec, factory
        self.crawl_settings = dict(crawl_settings or {})
        self.declarations = Declarations(options.sources)
        self.app = make_app(options.db_url, pool_size=spec.concurrency + 2)
        self.app.task(name=TASK, pass_context=True, retry=retry_strategy(spec.heartbeat))(self._task)
        self.worker_id: int | None = None
        self.jobs_done = 0
        # Night job id → (held while an attempt of it runs here, attempts here holding or awaiting it).
        self._attempts: dict[int, tuple[asyncio.Lock, int]] = {}
        self._preload()

    def _preload(self) -> None:
        crawler = make_crawler(self.options, CrawlPlan(spider=NightJobSpider), self.crawl_settings)
        for key in PRELOADED:
            for path, value in crawler.settings.getwithbase(key).items():
                if value is not None:
                    load_object(path if key != "DOWNLOAD_HANDLERS" else value)

    # The record ------------------------------------------------------------------------------------------

    def register(self) -> int:
        with transaction(self.factory) as session:
            self.worker_id = register_worker(session, self.spec.name, list(self.spec.queues or ["*"]),
                                             self.spec.stalled_after, utcnow()).id
        return self.worker_id

    def unregister(self) -> None:
        if self.worker_id is not None:
            with transaction(self.factory) as session:
                stop_worker(session, self.worker_id, utcnow())

    async def keep_alive(self) -> None:
        """Beat in the record, and give the jobs of workers that stopped beating to others."""
        assert self.worker_id is not None
        while True:
            await asyncio.sleep(self.spec.heartbeat)
            try:
                with transaction(self.factory) as session:
                    heartbeat(session, self.worker_id, utcnow())
                for job_id, retried in await retry_stalled(self.app, self.spec.stalled_after):
                    log.warning("job %s: its worker stopped answering; %s", job_id,
                                "queued again for another worker" if retried else
                                f"not retried: it has stopped {MAX_ATTEMPTS} workers")
            except Exception:  # a database hiccup must not stop the worker; the next beat tries again
                log.exception("heartbeat failed")

    # The jobs --------------------------------------------------------------------------------------------

    async def _task(self, context: Any, **kwargs: Any) -> str:
        return await self.run_job(JobArgs.from_kwargs(kwargs))

    async def run_job(self, args: JobArgs) -> str:
        lock, waiting = self._attempts.get(args.job_id, (asyncio.Lock(), 0))
        self._attempts[args.job_id] = (lock, waiting + 1)
        try:
            async with lock:
                return await self._run_job(args)
        finally:
            lock, waiting = self._attempts[args.job_id]
            if waiting == 1:
                del self._attempts[args.job_id]
            else:
                self._attempts[args.job_id] = (lock, waiting - 1)

    async def _run_job(self, args: JobArgs) -> str:
        assert self.worker_id is not None
        with transaction(self.factory) as session:
            lease = claim_job(session, args.job_id, self.worker_id, utcnow())
        if lease is None:
            return "nothing to do: the job or its night is over"
        try:
            sources = self.declarations.pick(args.source_ids, args.digest)
        except Exception as exc:  # differing or broken declarations: a deployment problem, named in the run
            self._finish(lease, JobStatus.FAILED, f"worker {self.spec.name}: {exc}")
            return str(exc)
        with reading(self.factory) as session:
            done = recorded_sources(session, args.run_id, args.source_ids)
        todo = [s for s in sources if s.id not in done]
        claim = NightClaim(args.run_id, self.worker_id, lease)
        reason = await self._crawl(todo, claim, args) if todo else "finished"
        if reason == "lease_lost":
            return "the job went to another worker"
        if reason not in ("finished", "closespider_timeout"):
            raise JobInterrupted(f"{args.domain}: the crawl stopped ({reason})")
        self._not_fetched(todo, claim, args, reason)
        self._finish(lease, JobStatus.DONE, None)
        self.jobs_done += 1
        return f"{args.domain}: {len(todo)} source(s) fetched, {len(done)} recorded before"

    async def _crawl(self, sources: list[Source], claim: NightClaim, args: JobArgs) -> str:
        remaining = (datetime.fromisoformat(args.deadline) - utcnow()).total_seconds()
        if remaining <= 0:
            return "closespider_timeout"
        extra = {**self.crawl_settings, "POLICYWATCH_NIGHT_CLAIM": claim, JOB_SOURCES: sources,
                 "CLOSESPIDER_TIMEOUT": max(1, int(remaining))}
        now = datetime.fromisoformat(args.now) if args.now else None
        crawler = make_crawler(self.options, CrawlPlan(now=now, spider=NightJobSpider), extra)
        try:
            await crawler.crawl_async()
        except asyncio.CancelledError:
            # Stopped (the night's deadline, or the worker stopping): the crawl closes before the job is let go.
            await asyncio.shield(crawler.stop_async())
            raise
        if crawler.stats.get_value("policywatch/lease_lost"):
            return "lease_lost"
        return str(crawler.stats.get_value("finish_reason") or "unknown")

    def _not_fetched(self, sources: list[Source], claim: NightClaim, args: JobArgs, reason: str) -> None:
        with reading(self.factory) as session:
            done = recorded_sources(session, args.run_id, [s.id for s in sources])
        at = datetime.fromisoformat(args.now) if args.now else utcnow()
        why = "the night's deadline passed" if reason == "closespider_timeout" else "the job's crawl ended"
        for source in sources:
            if source.id in done:
                continue
            try:
                store_outcome(self.factory, args.run_id, source, at, [], FetchFailure(
                    FailureKind.NOT_FETCHED, f"{why} before {source.id} was fetched"), claim=claim)
            except (AlreadyRecorded, BehindTheRecord, LeaseLost, SourceBusy) as exc:
                log.info("%s: %s", source.id, exc)

    def _finish(self, lease: Lease, status: JobStatus, detail: str | None) -> None:
        with transaction(self.factory) as session:
            finish_job(session, lease, status, utcnow(), detail)

    # Running ---------------------------------------------------------------------------------------------

    async def serve(self, install_signal_handlers: bool = True, registered: bool = False) -> None:
        """Take jobs until stopped (SIGTERM, SIGINT, or the task running this being cancelled); the app must be
        open. `registered`: the caller registered this worker and keeps it beating (the coordinator, whose run
        lives as long as its heartbeat)."""
        if not registered:
            self.register()
            beating = asyncio.ensure_future(self.keep_alive())
        try:
            await self.app.run_worker_async(
                queues=list(self.spec.queues) if self.spec.queues else None, name=self.spec.name,
                concurrency=self.spec.concurrency, update_heartbeat_interval=self.spec.heartbeat,
                stalled_worker_timeout=self.spec.stalled_after, install_signal_handlers=install_signal_handlers,
                shutdown_graceful_timeout=GRACEFUL_STOP_SECONDS, delete_jobs="successful",
                fetch_job_polling_interval=min(5.0, self.spec.heartbeat))
        finally:
            if not registered:
                beating.cancel()
                self.unregister()


def run_in_reactor(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main` in Scrapy's asyncio reactor, started (and stopped) once for this process."""
    import sys

    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.reactor import install_reactor

    if "twisted.internet.reactor" not in sys.modules:
        install_reactor(REACTOR)
    from twisted.internet import reactor

    results: list[T] = []
    errors: list[BaseException] = []

    async def wrapper() -> None:
        try:
            results.append(await main())
        except BaseException as exc:
            errors.append(exc)
        finally:
            reactor.callLater(0, reactor.stop)  # type: ignore[attr-defined]

    reactor.callWhenRunning(lambda: deferred_from_coro(wrapper()))  # type: ignore[attr-defined]
    # Signals are procrastinate's worker's (a graceful stop), not Twisted's.
    reactor.run(installSignalHandlers=False)  # type: ignore[attr-defined]
    if errors:
        raise errors[0]
    return results[0]
