"""The record of a distributed night: the workers, their heartbeats, and each domain's job.

A job is held by one worker at a time, with an attempt number: a worker whose
job was given to another (it stopped answering, or the night's deadline
passed) finds out when it next records a source, under the row lock of that
recording, and records nothing more for it. Heartbeats use each host's clock
(kept by NTP); a worker counts as gone once its heartbeat is older than the
`stalled_after` it registered with, or, on this host, once its process is.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import FetchOutcome, NightJob, Run, Worker
from storage.processes import alive
from storage.vocabulary import JobStatus, RunStatus

FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.EXPIRED)


def register_worker(session: Session, name: str, queues: Sequence[str], stalled_after: float, at: datetime) -> Worker:
    worker = Worker(name=name, host=socket.gethostname(), pid=os.getpid(), queues=list(queues), started_at=at,
                    last_heartbeat=at, stalled_after=stalled_after)
    session.add(worker)
    session.flush()
    return worker


def heartbeat(session: Session, worker_id: int, at: datetime) -> None:
    session.execute(update(Worker).where(Worker.id == worker_id).values(last_heartbeat=at))


def stop_worker(session: Session, worker_id: int, at: datetime) -> None:
    session.execute(update(Worker).where(Worker.id == worker_id).values(stopped_at=at, last_heartbeat=at))


def worker_gone(worker: Worker, at: datetime) -> bool:
    if worker.stopped_at is not None:
        return True
    if worker.host == socket.gethostname() and worker.pid != os.getpid() and not alive(worker.pid):
        return True
    return at - worker.last_heartbeat > timedelta(seconds=worker.stalled_after)


@dataclass(frozen=True)
class PlannedJob:
    domain: str
    region: str
    queue: str
    source_ids: tuple[str, ...]


def plan_night(session: Session, run_id: int, jobs: Iterable[PlannedJob], at: datetime) -> list[NightJob]:
    rows = [NightJob(run_id=run_id, domain=j.domain, region=j.region, queue=j.queue, source_ids=list(j.source_ids),
                     status=JobStatus.QUEUED, attempts=0, queued_at=at) for j in jobs]
    session.add_all(rows)
    session.flush()
    return rows


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one job: valid while the job's row still names this worker and attempt."""

    job_id: int
    run_id: int
    worker_id: int
    attempt: int


def claim_job(session: Session, job_id: int, worker_id: int, at: datetime) -> Lease | None:
    """Take the job for this worker; None when there is nothing left to do (the job is finished, or its night
    is over)."""
    job = session.get(NightJob, job_id, with_for_update=True)
    if job is None or job.status in FINISHED:
        return None
    run = session.get_one(Run, job.run_id)
    if run.status != RunStatus.RUNNING:
        return None
    job.attempts += 1
    job.status, job.worker_id, job.started_at, job.finished_at = JobStatus.RUNNING, worker_id, at, None
    session.flush()
    return Lease(job.id, job.run_id, worker_id, job.attempts)


def holds(session: Session, lease: Lease) -> bool:
    """Whether the lease is still good; the job's row stays locked (shared) until the transaction ends, so the
    night cannot end the job in the middle of a recording."""
    job = session.get(NightJob, lease.job_id, with_for_update={"read": True}, populate_existing=True)
    return (job is not None and job.status == JobStatus.RUNNING and job.worker_id == lease.worker_id
            and job.attempts == lease.attempt)


def finish_job(session: Session, lease: Lease, status: JobStatus, at: datetime, detail: str | None = None) -> bool:
    """End the job as this lease's holder; False (and nothing done) when the lease was lost meanwhile."""
    if not holds(session, lease):
        return False
    job = session.get_one(NightJob, lease.job_id, with_for_update=True)
    job.status, job.finished_at, job.detail = status, at, detail
    session.flush()
    return True


def fail_unclaimed(session: Session, job_id: int, at: datetime, detail: str) -> None:
    """A job that no worker could do (its attempts ran out): failed, with why."""
    job = session.get(NightJob, job_id, with_for_update=True)
    if job is not None and job.status not in FINISHED:
        job.status, job.finished_at, job.detail = JobStatus.FAILED, at, detail
        session.flush()


def expire_jobs(session: Session, run_id: int, at: datetime, detail: str) -> list[NightJob]:
    """The night is over: every job not finished is expired, which any worker still on it finds out."""
    jobs = session.scalars(select(NightJob).where(NightJob.run_id == run_id, NightJob.status.not_in(FINISHED))
                           .with_for_update()).all()
    for job in jobs:
        job.status, job.finished_at, job.detail = JobStatus.EXPIRED, at, detail
    session.flush()
    return list(jobs)


def night_jobs(session: Session, run_id: int) -> Sequence[NightJob]:
    return session.scalars(select(NightJob).where(NightJob.run_id == run_id).order_by(NightJob.id)).all()


def unfinished_jobs(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count()).select_from(NightJob).where(
        NightJob.run_id == run_id, NightJob.status.not_in(FINISHED))) or 0


def recorded_sources(session: Session, run_id: int, source_ids: Iterable[str] | None = None) -> set[str]:
    query = select(FetchOutcome.source_id).where(FetchOutcome.run_id == run_id)
    if source_ids is not None:
        query = query.where(FetchOutcome.source_id.in_(list(source_ids)))
    return set(session.scalars(query))


def already_recorded(session: Session, run_id: int, source_id: str) -> bool:
    return session.scalar(select(FetchOutcome.id).where(FetchOutcome.run_id == run_id,
                                                        FetchOutcome.source_id == source_id).limit(1)) is not None


def sign_outcome(session: Session, run_id: int, source_id: str, worker_id: int) -> None:
    """Name the worker that recorded the source's outcome of this run."""
    session.execute(update(FetchOutcome).where(FetchOutcome.run_id == run_id, FetchOutcome.source_id == source_id)
                    .values(worker_id=worker_id))


def run_alive(session: Session, run: Run, at: datetime) -> bool | None:
    """For a run coordinated by a worker: whether that worker is still there; None for other runs."""
    if run.worker_id is None:
        return None
    worker = session.get(Worker, run.worker_id)
    return worker is not None and not worker_gone(worker, at)


@dataclass(frozen=True)
class WorkerShare:
    """What one worker did in a distributed night."""

    worker_id: int
    name: str
    host: str
    pid: int
    sources: int  # outcomes it recorded
    domains: int  # jobs it finished
    retried: int  # of those, jobs it took over from a worker that stopped answering
    lost_job: bool  # it stopped answering in the middle of a job, which another worker finished


def night_shares(session: Session, run_id: int) -> list[WorkerShare]:
    jobs = night_jobs(session, run_id)
    holder = {source_id: job.worker_id for job in jobs for source_id in job.source_ids}
    recorded: dict[int, int] = {}
    handed_over: set[int] = set()
    for source_id, worker_id in session.execute(select(FetchOutcome.source_id, FetchOutcome.worker_id).where(
            FetchOutcome.run_id == run_id, FetchOutcome.worker_id.is_not(None))):
        recorded[worker_id] = recorded.get(worker_id, 0) + 1
        if holder.get(source_id) not in (None, worker_id):
            handed_over.add(worker_id)
    finished: dict[int, int] = {}
    retried: dict[int, int] = {}
    for job in jobs:
        if job.worker_id is not None and job.status == JobStatus.DONE:
            finished[job.worker_id] = finished.get(job.worker_id, 0) + 1
            if job.attempts > 1:
                retried[job.worker_id] = retried.get(job.worker_id, 0) + 1
    ids = sorted(set(recorded) | {j.worker_id for j in jobs if j.worker_id is not None})
    workers = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(ids)))}
    return [WorkerShare(w, workers[w].name, workers[w].host, workers[w].pid, recorded.get(w, 0), finished.get(w, 0),
                        retried.get(w, 0), w in handed_over) for w in ids if w in workers]
