"""`policywatch backfill --wayback`: a source's history from the Wayback Machine, through the importer."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime
from pathlib import Path

from policywatch.commands.claims import print_claims
from policywatch.commands.context import Context, ExitStatus, UserError


def backfill(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.backfill.client import PoliteClient, Throttled
    from ingest.backfill.options import WaybackOptions, polite_interval
    from ingest.backfill.wayback import backfill_source
    from ingest.declarations import select_sources

    if not args.wayback:
        raise UserError("backfill: say where from: --wayback (the Internet Archive's Wayback Machine)")
    settings = ctx.settings
    options = WaybackOptions(settings.wayback_cdx, settings.wayback_replay, settings.wayback_interval,
                             settings.wayback_max_captures)
    declared = ctx.sources()
    sources = select_sources(declared, args.only)
    claims = ctx.claims_plan(declared)
    client = PoliteClient(settings.user_agent, interval=polite_interval(options), timeout=settings.download_timeout,
                          max_bytes=settings.download_maxsize, say=ctx.say)
    factory = ctx.factory()
    workdir = Path(args.dir)
    stopped = 0
    for source in sources:
        try:
            result = backfill_source(factory, source, options, client, workdir, since=args.since,
                                     until=args.until, policy=ctx.guard_policy(),
                                     say=lambda line: None if ctx.quiet else ctx.say(line), claims=claims)
        except Throttled as exc:
            ctx.say(f"{source.id}: {exc}")
            print_claims(ctx, claims.reports)
            return ExitStatus.FAILURES
        if result.skipped:
            ctx.say(f"{source.id}: skipped: {result.skipped}")
            continue
        counts = Counter(r.outcome for r in result.imported.applied) if result.imported else Counter()
        imported = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing new"
        line = (f"{source.id}: {result.listed} capture(s) listed, {result.distinct} distinct; "
                f"{result.downloaded} downloaded, {result.reused} reused; imported: {imported}")
        if result.already_recorded:
            line += f"; {result.already_recorded} already recorded"
        ctx.say(line)
        if result.before_record:
            ctx.say(f"  {result.before_record} capture(s) are older than what is recorded for {source.id} and cannot "
                    f"be put before it: back-fill a source before its first crawl, or into a new database")
        for failure in (r for r in (result.imported.applied if result.imported else []) if r.failure):
            ctx.say(f"  refused by the fetch guard: {failure.failure.kind}: {failure.failure.detail}")  # type: ignore[union-attr]
        for capture in result.unavailable:
            ctx.say(f"  not served by the archive: {capture}")
        if result.stopped:
            ctx.say(f"  stopped: {result.stopped}")
            stopped += 1
    ctx.say(f"{client.requests} request(s) to the archive; downloads kept in {workdir}")
    print_claims(ctx, claims.reports)
    return ExitStatus.FAILURES if stopped else ExitStatus.OK
