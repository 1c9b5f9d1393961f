"""A distributed night's recording rule: each source has exactly one outcome in the night's run, written by the
worker that holds the source's job.

Both are checked in the source's own write transaction, under its row lock
(`upsert_source`), so a worker whose job was retried elsewhere, or that is
still at work when the night's deadline passes, can never record a source a
second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ingest.record import AlreadyRecorded
from storage.fleet import Lease, already_recorded, holds, sign_outcome


class LeaseLost(RuntimeError):
    """This worker no longer holds the job: another worker has it, or the night has ended it."""


@dataclass(frozen=True)
class NightClaim:
    run_id: int
    worker_id: int | None = None  # the worker signing the outcomes (None: the coordinator closing the night)
    lease: Lease | None = None

    def check(self, session: Session, source_id: str) -> None:
        if self.lease is not None and not holds(session, self.lease):
            raise LeaseLost(f"job {self.lease.job_id} (attempt {self.lease.attempt}) is no longer this worker's")
        if already_recorded(session, self.run_id, source_id):
            raise AlreadyRecorded(f"{source_id} already has its outcome in run {self.run_id}")

    def sign(self, session: Session, source_id: str) -> None:
        if self.worker_id is not None:
            sign_outcome(session, self.run_id, source_id, self.worker_id)
