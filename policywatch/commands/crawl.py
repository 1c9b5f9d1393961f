"""`policywatch crawl`: fetch the declared sources once and record what changed."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.exc import DBAPIError

from policywatch.commands.claims import print_claims, print_run_claims
from policywatch.commands.context import Context, ExitStatus, outcome_status
from policywatch.summary import failure_lines, held_lines, run_line
from storage.db import DatabaseError, database_name, database_problem, is_database_problem, reading
from storage.models import Run

if TYPE_CHECKING:
    from crawler.runner import CrawlResult
    from ingest.claims import ClaimsPlan
    from ingest.declarations import Source


def report_runs(ctx: Context, results: Sequence[CrawlResult]) -> ExitStatus:
    """One line per run, one per failed or held source and one per source the database would not take; quiet,
    only the lines of failed and unrecorded sources, unindented. The worst run's exit status."""
    worst = ExitStatus.OK
    with reading(ctx.factory()) as session:
        for result in results:
            run = session.get_one(Run, result.run_id)
            status = outcome_status(run.sources_checked + len(result.unrecorded), run.failures + len(result.unrecorded))
            worst = max(worst, status)
            failed = failure_lines(run)
            unrecorded = [f"  NOT RECORDED {source_id}: {why}" for source_id, why in result.unrecorded]
            if ctx.quiet:
                for line in failed + unrecorded:
                    ctx.say(line.strip())
                continue
            ctx.say(run_line(run) + (f", {len(result.unrecorded)} not recorded" if result.unrecorded else ""))
            for line in failed + held_lines(run) + unrecorded:
                ctx.say(line)
    return worst


def prepare_claims(ctx: Context, now: datetime | None, sources: dict[str, Source]) -> ClaimsPlan:
    """Claims files read and synchronised before the crawler starts: their errors stop the command first. The
    plan, its claims compiled, is the one the crawl's run then evaluates with (`handed_over`)."""
    from ingest.claims import evaluate_claims

    claims = ctx.claims_plan(sources)
    evaluate_claims(ctx.factory(), claims, now or datetime.now(timezone.utc))
    print_claims(ctx, claims.reports)
    return claims


def handed_over(sources: dict[str, Source], claims: ClaimsPlan) -> dict[str, Any]:
    """Crawl settings carrying the declarations and the claims as the command loaded them: the crawl does not
    read and compile them again."""
    from crawler.loaded import CLAIMS_PLAN, DECLARED_SOURCES, Handed

    return {DECLARED_SOURCES: Handed(sources), CLAIMS_PLAN: Handed(claims)}


def crawl(ctx: Context, args: argparse.Namespace) -> int:
    from crawler.runner import CrawlPlan, run_crawls
    from ingest.declarations import select_sources

    sources = ctx.sources()
    select_sources(sources, args.only)
    ctx.engine()  # schema errors surface before the crawl starts
    try:
        claims = prepare_claims(ctx, args.now, sources)
    except DBAPIError as exc:  # locked or full before anything was fetched: said as the crawler says it
        if not is_database_problem(exc):
            raise
        problem = database_problem(exc, ctx.settings.lock_timeout, database_name(ctx.settings.db_url))
        raise DatabaseError(f"nothing was crawled: {problem}") from None
    extra = {"LOG_LEVEL": "INFO" if ctx.verbose else "WARNING", "POLICYWATCH_QUIET": ctx.quiet,
             **handed_over(sources, claims)}
    results = run_crawls(ctx.settings.crawl_options(), [CrawlPlan(only=args.only or (), now=args.now)], extra)
    status = report_runs(ctx, results)
    print_run_claims(ctx, [r.run_id for r in results])
    return status
