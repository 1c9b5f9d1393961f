"""The coordinator of a distributed night: plans the jobs, works like any other worker, and closes the night.

It begins the night's run, queues one job per domain (and region), takes
jobs itself while waiting for every job to end or for the deadline, and
then closes the night: jobs still waiting are withdrawn, jobs still running
are fenced off (their workers record nothing more), and every source
without an outcome becomes `not_fetched`, saying why. Claims are evaluated
as around a crawl in one process (`ingest.runs`): when the run begins, and
once the night's run has ended, on every outcome the workers recorded. The
report is the command's business, once this has returned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from crawler.night_worker import NightWorker, utcnow
from crawler.queue import FINAL_STATES, JobArgs, cancel_jobs, defer_jobs, job_states
from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.domains import declarations_digest, plan_jobs
from ingest.night import LeaseLost, NightClaim
from ingest.record import AlreadyRecorded, BehindTheRecord, SourceBusy, store_outcome
from ingest.results import FetchFailure
from ingest.runs import begin_run, end_run
from storage.db import reading, transaction
from storage.fleet import PlannedJob, expire_jobs, fail_unclaimed, night_jobs, plan_night, recorded_sources
from storage.record import upsert_source
from storage.vocabulary import FailureKind, JobStatus, RunKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NightResult:
    run_id: int
    jobs: int
    plan_seconds: float  # beginning the run, planning and queueing every job
    close_seconds: float  # from the last job's end to the run's end
    stopped_early: str | None  # why the night ended before every job did (the deadline, a signal)
    unrecorded: tuple[tuple[str, str], ...] = ()  # (source id, why) of sources the record would not take


async def coordinate(worker: NightWorker, sources: Sequence[Source], deadline: datetime, now: datetime | None,
                     claims: ClaimsPlan | None = None, say: Callable[[str], None] = log.info) -> NightResult:
    worker_id = worker.register()
    beating = asyncio.ensure_future(worker.keep_alive())
    try:
        return await _night(worker, worker_id, sources, deadline, now, claims, say)
    finally:
        beating.cancel()
        worker.unregister()


async def _night(worker: NightWorker, worker_id: int, sources: Sequence[Source], deadline: datetime,
                 now: datetime | None, claims: ClaimsPlan | None, say: Callable[[str], None]) -> NightResult:
    factory = worker.factory
    started = time.perf_counter()
    run_id = begin_run(factory, RunKind.CRAWL, now or utcnow(), say=say, claims=claims, worker_id=worker_id)
    planned = plan_jobs(sources)
    by_id = {s.id: s for s in sources}
    with transaction(factory) as session:
        # Every source's row exists before any worker locks it to record.
        for source in sources:
            upsert_source(session, source)
        rows = plan_night(session, run_id, [PlannedJob(j.domain, j.region, j.queue, j.source_ids) for j in planned],
                          now or utcnow())
        job_rows = [(row.id, job) for row, job in zip(rows, planned)]
    queued = [(job.queue, job.domain, JobArgs(
        run_id=run_id, job_id=row_id, domain=job.domain, source_ids=list(job.source_ids),
        digest=declarations_digest([by_id[i] for i in job.source_ids]), deadline=deadline.isoformat(),
        now=now.isoformat() if now else None)) for row_id, job in job_rows]
    async with worker.app.open_async():
        queue_ids = await defer_jobs(worker.app, queued)
        plan_seconds = time.perf_counter() - started
        serving = asyncio.ensure_future(worker.serve(install_signal_handlers=True, registered=True))
        stopped_early = await _wait(worker, queue_ids, deadline, serving)
        closing = time.perf_counter()
        if stopped_early is not None:
            with transaction(factory) as session:
                expire_jobs(session, run_id, utcnow(), f"the night ended ({stopped_early}) before this job did")
            await cancel_jobs(worker.app, queue_ids)
        if not serving.done():
            serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        states = await job_states(worker.app, queue_ids)
    with transaction(factory) as session:
        for (row_id, _), queue_id in zip(job_rows, queue_ids):
            state = states.get(queue_id, "succeeded")
            if state in FINAL_STATES and state != "succeeded":
                fail_unclaimed(session, row_id, utcnow(), f"its job ended {state} in the queue")
    unrecorded = _close(worker, run_id, by_id, now)
    end_run(factory, run_id, now or utcnow(), claims=claims, unrecorded=len(unrecorded))
    return NightResult(run_id, len(job_rows), plan_seconds, time.perf_counter() - closing, stopped_early,
                       tuple(unrecorded))


async def _wait(worker: NightWorker, queue_ids: Sequence[int], deadline: datetime,
                serving: asyncio.Future[None]) -> str | None:
    """Until every job has ended (None), or why the night ends before."""
    poll = min(1.0, worker.spec.heartbeat)
    while True:
        states = await job_states(worker.app, queue_ids)
        if all(states.get(i, "succeeded") in FINAL_STATES for i in queue_ids):
            return None
        if utcnow() >= deadline:
            return f"deadline {deadline.isoformat()}"
        if serving.done():
            return "the coordinator was stopped"
        await asyncio.sleep(poll)


def _close(worker: NightWorker, run_id: int, sources: dict[str, Source], now: datetime | None
           ) -> list[tuple[str, str]]:
    """Every source of the night without an outcome gets one: `not_fetched`, with what became of its job; the
    sources that cannot have one (held by another run, or a record that reaches past the night's time), with
    why."""
    factory = worker.factory
    with reading(factory) as session:
        done = recorded_sources(session, run_id)
        why = {}
        for job in night_jobs(session, run_id):
            reason = job.detail or ("its job was never taken" if job.status == JobStatus.QUEUED else
                                    f"its job ended {job.status}")
            for source_id in job.source_ids:
                why[source_id] = reason
    claim = NightClaim(run_id)
    unrecorded = []
    for source_id, source in sources.items():
        if source_id in done:
            continue
        try:
            store_outcome(factory, run_id, source, now or utcnow(), [], FetchFailure(
                FailureKind.NOT_FETCHED, f"not fetched this night: {why.get(source_id, 'no job held it')}"),
                claim=claim)
        except (BehindTheRecord, SourceBusy) as exc:
            unrecorded.append((source_id, str(exc)))
            log.warning("%s: not recorded: %s", source_id, exc)
        except (AlreadyRecorded, LeaseLost) as exc:
            log.info("%s: %s", source_id, exc)
    return unrecorded
