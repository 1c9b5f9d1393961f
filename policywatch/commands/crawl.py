"""`policywatch crawl`: fetch the declared sources once and record what changed."""

from __future__ import annotations

import argparse
from typing import Sequence

from policywatch.commands.context import AddCommand, Context, ExitStatus, outcome_status, time_argument
from policywatch.summary import failure_lines, run_line
from storage.db import transaction
from storage.models import Run


def report_runs(ctx: Context, run_ids: Sequence[int]) -> ExitStatus:
    """One line per run (unless quiet) and one per failed source; the worst run's exit status."""
    worst = ExitStatus.OK
    with transaction(ctx.factory()) as session:
        for run_id in run_ids:
            run = session.get_one(Run, run_id)
            status = outcome_status(run.sources_checked, run.failures)
            worst = max(worst, status)
            if not ctx.quiet or status:
                ctx.say(run_line(run))
            for line in failure_lines(run):
                ctx.say(line)
    return worst


def crawl(ctx: Context, args: argparse.Namespace) -> int:
    from crawler.runner import CrawlPlan, run_crawls
    from ingest.declarations import select_sources

    select_sources(ctx.sources(), args.only)
    ctx.engine()  # schema errors surface before the crawl starts
    extra = {"LOG_LEVEL": "INFO" if ctx.verbose else "WARNING"}
    run_ids = run_crawls(ctx.settings.crawl_options(), [CrawlPlan(only=args.only or (), now=args.now)], extra)
    return report_runs(ctx, run_ids)


def register(add: AddCommand) -> None:
    p = add("crawl", crawl, "fetch every declared source once and record what changed")
    p.add_argument("--only", nargs="+", metavar="ID", help="crawl only these source ids")
    p.add_argument("--now", type=time_argument, help="record this crawl as made at TIME (replays, demos)")
