"""The task queue of distributed nights: procrastinate, on the PostgreSQL database that holds the record.

procrastinate's tables live in their own PostgreSQL schema (`procrastinate`),
beside the record's and out of Alembic's sight: the queue holds nothing but
the current night's jobs (who fetched what is recorded in the record's own
tables, `workers` and `night_jobs`), so it is applied by procrastinate's own
schema applier when first needed, and replaced whole, when no job is waiting
or running, by a policywatch whose procrastinate brings another schema. The
schema's comment names the procrastinate and the sha256 of the SQL it was
made with.

A job is one domain's sources for one night, deferred with `lock=<domain>`:
procrastinate never starts a job while another with the same lock runs, on
whichever host.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Iterator, Sequence

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from analysis.errors import UserInputError

log = logging.getLogger(__name__)

SCHEMA = "procrastinate"
TASK = "policywatch.crawl_domain"
# A job whose worker died this many times is not handed out again: something in it kills workers.
MAX_ATTEMPTS = 3
_SCHEMA_LOCK_KEY = 0x706F6C6963790002
INSTALL_HINT = "pip install -e '.[distributed]'"


class QueueError(UserInputError):
    """The task queue cannot be used (procrastinate missing, a queue schema made by another procrastinate)."""


def _procrastinate() -> Any:
    try:
        import procrastinate
    except ImportError:
        raise QueueError(f"distributed nights need procrastinate, which this installation does not have: "
                         f"{INSTALL_HINT}") from None
    return procrastinate


@dataclass(frozen=True)
class JobArgs:
    """What a job carries: enough for any worker with the same declarations to do it."""

    run_id: int
    job_id: int  # the night_jobs row
    domain: str
    source_ids: list[str]
    digest: str  # of the declarations of those sources (ingest.domains.declarations_digest)
    deadline: str  # ISO time after which the job is not worth starting
    now: str | None = None  # the fixed time of a replayed night (`run --now`), else None

    @classmethod
    def from_kwargs(cls, values: dict[str, Any]) -> "JobArgs":
        return cls(**values)

    def kwargs(self) -> dict[str, Any]:
        return asdict(self)


def conninfo(db_url: str) -> str:
    """The libpq connection string of an SQLAlchemy PostgreSQL URL."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(db_url: str, pool_size: int = 4) -> Any:
    """A procrastinate App on the record's database; its task is registered by the worker that runs it."""
    procrastinate = _procrastinate()
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(db_url), kwargs={"options": f"-c search_path={SCHEMA}"},
        min_size=1, max_size=max(2, pool_size))
    return procrastinate.App(connector=connector)


def retry_strategy(wait: float) -> Any:
    """A job that raised (its crawl was interrupted) is queued again, at most MAX_ATTEMPTS times in all."""
    return _procrastinate().RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, wait=max(1, int(wait)))


def _schema_sql() -> tuple[str, str]:
    procrastinate = _procrastinate()
    from procrastinate.schema import SchemaManager

    sql = SchemaManager.get_schema()
    digest = hashlib.sha256(sql.encode("utf-8")).hexdigest()
    return sql, f"procrastinate {procrastinate.__version__} sha256:{digest}"


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Any]:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
        conn.commit()
        try:
            yield conn
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            conn.commit()


def ensure_schema(engine: Engine, may_replace: bool, say: Any = None) -> bool:
    """Make the queue's schema if it is missing; True when anything was done.

    `may_replace` (the coordinator): a schema made by another procrastinate is
    replaced when no job is waiting or running. Without it (a worker), that
    is an error: the hosts must run the same policywatch.
    """
    sql, identity = _schema_sql()
    with _schema_lock(engine) as conn:
        found = conn.execute(text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                                  "WHERE nspname = :name"), {"name": SCHEMA}).first()
        if found is not None and found[0] == identity:
            return False
        if found is not None:
            busy = 0
            if conn.execute(text(f"SELECT to_regclass('{SCHEMA}.procrastinate_jobs')")).scalar() is not None:
                busy = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.procrastinate_jobs "
                                         "WHERE status IN ('todo', 'doing')")).scalar() or 0
            if busy or not may_replace:
                raise QueueError(f"the task queue (schema {SCHEMA!r}) was made by {found[0] or 'an unfinished setup'}"
                                 f", not {identity.split(' sha256')[0]}; every host must run the same policywatch"
                                 + (f" ({busy} job(s) still queued or running)" if busy else
                                    "; `policywatch run --distributed` replaces it when no job is queued"))
            conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        if say is not None:
            say(f"creating the task queue ({identity.split(' sha256')[0]}) in schema {SCHEMA!r}")
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        conn.commit()
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                # SET LOCAL: the connection goes back to the record's pool, whose queries name no schema.
                cursor.execute(f"SET LOCAL search_path TO {SCHEMA}")
                cursor.execute(sql)  # no parameters: procrastinate's SQL is run as written
            raw.commit()
        finally:
            raw.close()
        conn.execute(text(f"COMMENT ON SCHEMA {SCHEMA} IS " + _literal(identity)))
        conn.commit()
    return True


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def defer_jobs(app: Any, jobs: Sequence[tuple[str, str, JobArgs]]) -> list[int]:
    """Queue the night's jobs: (queue, lock, arguments) each; their procrastinate ids."""
    ids = []
    for queue, lock, args in jobs:
        deferrer = app.configure_task(TASK, queue=queue, lock=lock)
        ids.append(await deferrer.defer_async(**args.kwargs()))
    return ids


async def retry_stalled(app: Any, stalled_after: float) -> list[tuple[int, bool]]:
    """Hand the jobs of workers that stopped answering to others: (procrastinate id, retried) each; a job
    that has already killed MAX_ATTEMPTS workers is failed instead."""
    procrastinate = _procrastinate()
    handled = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            if job.attempts + 1 < MAX_ATTEMPTS:
                await app.job_manager.retry_job(job)
                handled.append((job.id, True))
            else:
                await app.job_manager.finish_job(job=job, status=procrastinate.jobs.Status.FAILED, delete_job=False)
                handled.append((job.id, False))
        except procrastinate.exceptions.ConnectorException as exc:
            # Another worker handled it first.
            log.debug("stalled job %s: %s", job.id, exc)
    return handled


FINAL_STATES = ("succeeded", "failed", "cancelled", "aborted")


async def job_states(app: Any, job_ids: Sequence[int]) -> dict[int, str]:
    """The procrastinate status of each job (`todo`, `doing`, or one of FINAL_STATES)."""
    rows = await app.connector.execute_query_all_async(
        "SELECT id, status::text AS status FROM procrastinate_jobs WHERE id = ANY(%(ids)s)", ids=list(job_ids))
    return {row["id"]: row["status"] for row in rows}


async def cancel_jobs(app: Any, job_ids: Sequence[int]) -> None:
    """Withdraw the night's jobs: those waiting are cancelled, those running are asked to stop."""
    procrastinate = _procrastinate()
    for job_id in job_ids:
        try:
            await app.job_manager.cancel_job_by_id_async(job_id, abort=True)
        except procrastinate.exceptions.ConnectorException as exc:
            log.debug("cancelling job %s: %s", job_id, exc)


def deadline_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
