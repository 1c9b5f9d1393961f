"""`policywatch run`: the nightly job — crawl every source, then read the news, then render the report and
the feeds.

One run at a time: an exclusive `flock`, taken before anything else, is
released by the kernel however the process ends; on PostgreSQL, which runs
on several hosts may share, an advisory lock held by one connection, which
the server releases however the process ends.

`--distributed` (PostgreSQL only) shares the night's fetching with every
`policywatch worker`, one job per domain (policywatch/commands/distributed.py).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any


from sqlalchemy.exc import DBAPIError

from policywatch.commands.context import Context, ExitStatus, UserError, outcome_status
from policywatch.commands.distributed import distributed_crawls, require_postgresql, shares_line
from policywatch.commands.news import report_news_runs
from policywatch.commands.claims import print_run_claims
from policywatch.commands.crawl import handed_over, prepare_claims
from policywatch.commands.notify import night_notifications
from policywatch.commands.report import base_url, build_report
from policywatch.summary import nightly_line
from policywatch.terminal import safe
from storage import news_queries
from storage.db import (DatabaseError, backend_name, database_name, database_problem, parse_url, reading,
                        redact_url)
from storage.models import Run
from storage.nightlock import AdvisoryLock, NightLockHeld
from storage.vocabulary import Outcome

if TYPE_CHECKING:
    from ingest.news.declarations import NewsConfig


class LockHeld(Exception):
    def __init__(self, path: Path, holder: str):
        super().__init__(f"another policywatch run holds the lock {path} (pid {holder or 'unknown'}); not starting")


class RunLock:
    """An exclusive, non-blocking flock; the kernel releases it when the process ends, however it ends.

    The file is never deleted: removing a lock file another process has open
    would let a third process lock a new file beside it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise LockHeld(self.path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __str__(self) -> str:
        return str(self.path)


def night_lock(db_url: str, out: Path) -> RunLock | AdvisoryLock:
    if backend_name(db_url) == "postgresql":
        return AdvisoryLock(db_url)
    return RunLock(lock_path(db_url, out))


def lock_path(db_url: str, out: Path) -> Path:
    """`<db>.lock` beside an SQLite file; for a database server, in the output directory."""
    url = parse_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database).expanduser()
        if not database.resolve().parent.is_dir():
            raise UserError(f"--db {redact_url(db_url)}: directory {database.resolve().parent} does not exist")
        return database.with_name(database.name + ".lock")
    out.mkdir(parents=True, exist_ok=True)
    return out / ".policywatch-run.lock"


class RunLog:
    """`--log FILE`: timestamped lines appended to a file (nothing when no file is given)."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None

    def write(self, message: str) -> None:
        if self.path is None:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [{os.getpid()}] {safe(message)}\n")


def _crawl_settings(log: str | None) -> dict[str, Any]:
    if log:
        return {"LOG_FILE": str(log), "LOG_FILE_APPEND": True, "LOG_LEVEL": "INFO"}
    # Without a log file only errors reach the terminal: cron mails whatever is printed.
    return {"LOG_LEVEL": "ERROR"}


def run(ctx: Context, args: argparse.Namespace) -> int:
    quiet = ctx.quiet
    base = base_url(args.base_url)
    out = Path(args.out)
    if args.distributed:
        require_postgresql(ctx, "--distributed")
    lock = night_lock(ctx.settings.db_url, out)
    try:
        lock.acquire()
    except (LockHeld, NightLockHeld) as exc:
        ctx.warn(str(exc))
        return ExitStatus.LOCKED
    except DBAPIError as exc:
        named = database_name(ctx.settings.db_url)
        raise DatabaseError(database_problem(exc, ctx.settings.lock_timeout, named)) from None
    log = RunLog(args.log)
    log.write(f"run started (lock {lock})")
    try:
        return _nightly(ctx, args, quiet, base, out, log)
    except Exception as exc:
        log.write(f"run stopped: {type(exc).__name__}: {exc}")
        raise
    finally:
        lock.release()


def _news_due(ctx: Context, news: NewsConfig, now: datetime) -> bool:
    """Whether the news has anything to do tonight: an enabled news source in `news`, or a known article due
    again."""
    from ingest.news.declarations import select_news
    from ingest.news.schedule import DUE_MARGIN

    if select_news(news.sources):
        return True
    with reading(ctx.factory()) as session:
        return bool(news_queries.due_articles(session, now + DUE_MARGIN, 1))


def _nightly(ctx: Context, args: argparse.Namespace, quiet: bool, base: str | None, out: Path, log: RunLog) -> int:
    from crawler.runner import CrawlPlan, news_plan, run_crawls

    started = time.monotonic()
    sources = ctx.sources()
    if not sources:
        raise UserError(f"no sources are declared in {ctx.settings.sources}")
    news = ctx.news()  # broken news declarations stop the run before anything is fetched
    factory = ctx.factory()
    claims = prepare_claims(ctx, args.now, sources)
    plans = [CrawlPlan(now=args.now)]
    if _news_due(ctx, news, args.now or datetime.now(timezone.utc)):
        plans.append(news_plan(now=args.now))
    if args.distributed:
        night, results = distributed_crawls(ctx, args, plans, _crawl_settings(args.log), log.write)
        log.write(f"night {night.run_id}: {night.jobs} domain job(s) planned and queued in {night.plan_seconds:.2f} s, "
                  f"closed in {night.close_seconds:.2f} s after the last one ended")
        if night.stopped_early:
            ctx.warn(f"the night ended before every job did ({night.stopped_early}); what was left is not_fetched")
    else:
        results = run_crawls(ctx.settings.crawl_options(), plans,
                             {**_crawl_settings(args.log), **handed_over(sources, claims)})
    crawled = results[0]
    notified = night_notifications(ctx, base, out, log.write)  # before the report, so runs.html shows them
    stats = build_report(ctx, out, base)
    with reading(factory) as session:
        recorded = session.get_one(Run, crawled.run_id)
        failed = [(o.source_id, o.failure_kind or "", o.detail or "") for o in recorded.outcomes
                  if o.outcome == Outcome.FAILED]
        failed += [(source_id, "not recorded", why) for source_id, why in crawled.unrecorded]
        checked = recorded.sources_checked + len(crawled.unrecorded)
        failures = recorded.failures + len(crawled.unrecorded)
        summary = nightly_line(recorded, stats.index_path.resolve(), time.monotonic() - started,
                               unrecorded=len(crawled.unrecorded))
    log.write(summary)
    log.write(f"report: {stats.pages_written} file(s) written, {stats.pages_skipped} unchanged, {stats.seconds:.2f} s")
    for problem in stats.problems:
        log.write(problem)
        ctx.warn(problem)
    if not quiet:
        ctx.say(summary)
    if args.distributed:
        shares = shares_line(ctx, crawled.run_id)
        log.write(shares)
        if not quiet:
            ctx.say(shares)
    for source_id, kind, detail in failed:
        line = f"failed {source_id}: {kind}: {detail}"
        log.write(line)
        ctx.say(line if quiet else f"  {line}")
    notified(quiet)
    status = outcome_status(checked, failures)
    print_run_claims(ctx, [crawled.run_id])
    if len(results) > 1:
        status = max(status, report_news_runs(ctx, results[1:], quiet=quiet, log=log.write))
    return status
