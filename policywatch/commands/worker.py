"""`policywatch worker`: take domain jobs of distributed nights from the queue, until stopped (SIGTERM)."""

from __future__ import annotations

import argparse

from policywatch.commands.context import Context, ExitStatus
from policywatch.commands.distributed import make_worker, require_postgresql, start_logging, worker_spec
from policywatch.commands.run import RunLog, _crawl_settings


def worker(ctx: Context, args: argparse.Namespace) -> int:
    from crawler.night_worker import run_in_reactor

    require_postgresql(ctx, "policywatch worker")
    spec = worker_spec(ctx, args)
    crawl_settings = _crawl_settings(args.log)
    start_logging(crawl_settings)
    node = make_worker(ctx, spec, crawl_settings, coordinator=False)
    log = RunLog(args.log)
    started = f"worker {spec.name}: taking jobs from {', '.join(spec.queues or ['every queue'])}, " \
              f"{spec.concurrency} at a time"
    log.write(started)
    if not ctx.quiet:
        ctx.say(started)

    async def serve() -> None:
        async with node.app.open_async():
            await node.serve()

    run_in_reactor(serve)
    stopped = f"worker {spec.name} stopped: {node.jobs_done} job(s) done"
    log.write(stopped)
    if not ctx.quiet:
        ctx.say(stopped)
    return ExitStatus.OK
