"""The run lifecycle, one for every command that records: crawl, import, reextract and reanalyse.

A run is started (after marking runs left behind by dead processes as
aborted) in its own transaction, each source is recorded in its own, and the
run is finished with its counts whatever happened in between. A run keeps
two pairs of times: the record's (``started_at``, ``finished_at``: for an
import, the dates of its first and last entry) and the clock's
(``performed_at``, ``performed_until``: when the command ran); for a crawl
they are the same.

With a ``ClaimsPlan``, claims are evaluated (``ingest.claims``) before the
run starts (the claims files synchronised, anything left unevaluated caught
up: a bad claims file stops the command before it records anything) and
once more after it ends, in their own transaction, on what the run recorded.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from time import monotonic
from typing import Callable, Iterator

from sqlalchemy.orm import Session, sessionmaker

from ingest.claims import ClaimsPlan, evaluate_claims
from storage.db import transaction
from storage.models import Run
from storage.record import abort_stale_runs, finish_run, start_run
from storage.vocabulary import RunKind


def abort_stale(factory: sessionmaker[Session], at: datetime) -> int:
    """Mark runs left behind by dead processes as aborted; for commands that end up recording nothing."""
    with transaction(factory) as session:
        return abort_stale_runs(session, at)


def begin_run(factory: sessionmaker[Session], kind: RunKind, at: datetime,
              say: Callable[[str], None] | None = None, claims: ClaimsPlan | None = None,
              worker_id: int | None = None, performed_at: datetime | None = None) -> int:
    """`performed_at`: when the run began by the clock, where `at` is a time of the record instead (an import)."""
    if claims is not None:
        evaluate_claims(factory, claims, at, performed=performed_at)
    with transaction(factory) as session:
        aborted = abort_stale_runs(session, at)
        if aborted and say is not None:
            say(f"marked {aborted} unfinished earlier run(s) as aborted")
        run = start_run(session, kind, at, worker_id)
        run.performed_at = performed_at or at
        return run.id


def end_run(factory: sessionmaker[Session], run_id: int, at: datetime, claims: ClaimsPlan | None = None,
            performed_until: datetime | None = None, unrecorded: int = 0) -> Run:
    """`unrecorded`: sources whose outcome could not be written (`storage.record.finish_run`)."""
    with transaction(factory) as session:
        run = finish_run(session, run_id, at, unrecorded)
        run.performed_until = performed_until or at
    if claims is not None:
        evaluate_claims(factory, claims, at, run_id, performed=performed_until)
    return run


@contextmanager
def recorded_run(factory: sessionmaker[Session], kind: RunKind, at: datetime,
                 end: Callable[[], datetime] | None = None, claims: ClaimsPlan | None = None,
                 performed_at: datetime | None = None) -> Iterator[int]:
    """A run around the block; it is finished (at `end()`, else `at`) however the block ends, and its
    claims evaluated when it ended normally. With `performed_at` (the clock when `at` is a time of the
    record), the run is performed until that time plus how long the block took."""
    began = monotonic()
    run_id = begin_run(factory, kind, at, claims=claims, performed_at=performed_at)
    completed = False
    try:
        yield run_id
        completed = True
    finally:
        # Measured on the monotonic clock: a wall clock set back meanwhile cannot end the run before it began.
        until = None if performed_at is None else performed_at + timedelta(seconds=monotonic() - began)
        end_run(factory, run_id, end() if end is not None else at, claims if completed else None, until)
