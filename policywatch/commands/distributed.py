"""What `policywatch run --distributed` and `policywatch worker` share: the checks, the worker's identity, its
log, and the line saying which worker did what."""

from __future__ import annotations

import argparse
import os
import socket
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from typing import TYPE_CHECKING

from policywatch.commands.context import Context, UserError
from storage.db import backend_name, reading
from storage.fleet import night_shares

# The crawler and Scrapy are imported by the functions that start a night or a worker: `run` without
# --distributed, and every other command, must not pay for them.
if TYPE_CHECKING:
    from crawler.night import NightResult
    from crawler.night_worker import NightWorker, WorkerSpec
    from crawler.runner import CrawlPlan, CrawlResult


def require_postgresql(ctx: Context, what: str) -> None:
    if backend_name(ctx.settings.db_url) != "postgresql":
        raise UserError(f"{what} needs a PostgreSQL database shared by every host (--db postgresql+psycopg://…); "
                        f"with SQLite, `policywatch run` does the night in one process")


def default_queues(ctx: Context) -> tuple[str, ...]:
    """The queues this host can serve: plain fetches, and the browser's when it is installed here."""
    from crawler.browser import DEFAULT_CHROMIUM, browser_available
    from ingest.domains import BROWSER_QUEUE, HTTP_QUEUE

    missing = browser_available(ctx.settings.chromium or DEFAULT_CHROMIUM)
    return (HTTP_QUEUE,) if missing else (HTTP_QUEUE, BROWSER_QUEUE)


def worker_spec(ctx: Context, args: argparse.Namespace) -> WorkerSpec:
    from crawler.night_worker import WorkerSpec

    if args.concurrency < 1:
        raise UserError(f"--concurrency {args.concurrency}: at least 1 job at a time")
    settings = ctx.settings
    if settings.worker_stalled_after <= 2 * settings.worker_heartbeat:
        raise UserError(f"worker_stalled_after ({settings.worker_stalled_after:g} s) must be more than twice "
                        f"worker_heartbeat ({settings.worker_heartbeat:g} s), or live workers would lose their jobs")
    return WorkerSpec(name=args.name or f"{socket.gethostname()}-{os.getpid()}",
                      queues=tuple(args.queues) if args.queues else default_queues(ctx),
                      concurrency=args.concurrency, heartbeat=settings.worker_heartbeat,
                      stalled_after=settings.worker_stalled_after)


def start_logging(crawl_settings: dict[str, Any]) -> None:
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.log import configure_logging

    configure_logging(ScrapySettings(crawl_settings))


def make_worker(ctx: Context, spec: WorkerSpec, crawl_settings: dict[str, Any], coordinator: bool) -> NightWorker:
    from crawler.night_worker import NightWorker
    from crawler.queue import ensure_schema

    factory = ctx.factory()
    ensure_schema(ctx.engine(), may_replace=coordinator, say=ctx.warn)
    return NightWorker(ctx.settings.crawl_options(), spec, factory, crawl_settings)


def distributed_crawls(ctx: Context, args: argparse.Namespace, plans: Sequence[CrawlPlan],
                       crawl_settings: dict[str, Any], say: Callable[[str], None]) -> tuple[NightResult, list[CrawlResult]]:
    """The night's policies as jobs shared with every worker, then the other crawls (the news) here."""
    from crawler.night import coordinate
    from crawler.night_worker import run_in_reactor
    from crawler.runner import CrawlResult, crawl_in_running_reactor
    from ingest.declarations import select_sources

    spec = worker_spec(ctx, args)
    sources = select_sources(ctx.sources(), plans[0].only)
    start_logging(crawl_settings)
    worker = make_worker(ctx, spec, crawl_settings, coordinator=True)
    deadline = datetime.now(timezone.utc) + args.deadline

    async def night() -> tuple[NightResult, list[CrawlResult]]:
        result = await coordinate(worker, sources, deadline, plans[0].now, claims=ctx.claims_plan(), say=say)
        results = [CrawlResult(result.run_id, result.unrecorded)]
        for plan in plans[1:]:
            results.append(await crawl_in_running_reactor(ctx.settings.crawl_options(), plan, crawl_settings))
        return result, results

    return run_in_reactor(night)


def shares_line(ctx: Context, run_id: int) -> str:
    with reading(ctx.factory()) as session:
        shares = night_shares(session, run_id)
    parts = [f"{s.name} ({s.sources} source{'s' if s.sources != 1 else ''})" for s in shares]
    retried = sum(s.retried for s in shares)
    line = f"shared by {len(shares)} worker{'s' if len(shares) != 1 else ''}: {', '.join(parts) or 'none'}"
    return line + (f"; {retried} job(s) taken over from a worker that stopped answering" if retried else "")
