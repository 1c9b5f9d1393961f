"""The run lifecycle, one for every command that records: crawl, import, reextract and reanalyse.

A run is started (after marking runs left behind by dead processes as
aborted) in its own transaction, each source is recorded in its own, and the
run is finished with its counts whatever happened in between.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Run
from storage.record import abort_stale_runs, finish_run, start_run
from storage.vocabulary import RunKind


def abort_stale(factory: sessionmaker[Session], at: datetime) -> int:
    """Mark runs left behind by dead processes as aborted; for commands that end up recording nothing."""
    with transaction(factory) as session:
        return abort_stale_runs(session, at)


def begin_run(factory: sessionmaker[Session], kind: RunKind, at: datetime,
              say: Callable[[str], None] | None = None, worker_id: int | None = None) -> int:
    with transaction(factory) as session:
        aborted = abort_stale_runs(session, at)
        if aborted and say is not None:
            say(f"marked {aborted} unfinished earlier run(s) as aborted")
        return start_run(session, kind, at, worker_id).id


def end_run(factory: sessionmaker[Session], run_id: int, at: datetime) -> Run:
    with transaction(factory) as session:
        return finish_run(session, run_id, at)


@contextmanager
def recorded_run(factory: sessionmaker[Session], kind: RunKind, at: datetime,
                 end: Callable[[], datetime] | None = None) -> Iterator[int]:
    """A run around the block; it is finished (at `end()`, else `at`) however the block ends."""
    run_id = begin_run(factory, kind, at)
    try:
        yield run_id
    finally:
        end_run(factory, run_id, end() if end is not None else at)
