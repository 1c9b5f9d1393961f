"""`policywatch import`: saved snapshots, with their times, through the same guard as a crawl."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ingest.importer import import_manifest
from ingest.judge import GuardPolicy
from policywatch.commands.claims import print_claims
from policywatch.commands.context import AddCommand, Context, ExitStatus
from storage.vocabulary import Outcome


def import_command(ctx: Context, args: argparse.Namespace) -> int:
    policy = GuardPolicy(ctx.settings.too_short_fraction, ctx.settings.failing_after_runs)
    sources = ctx.sources()
    claims = ctx.claims_plan(sources)
    report = import_manifest(ctx.factory(), Path(args.manifest), sources, policy, claims)
    counts = Counter(result.outcome for result in report.applied)
    for result in report.applied:
        if result.failure:
            ctx.say(f"  failed {result.source_id}: {result.failure.kind}: {result.failure.detail}")
    entries = len(report.applied)
    ctx.say(f"imported {entries} entr{'y' if entries == 1 else 'ies'} "
            f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
            f"{report.skipped} already recorded")
    print_claims(ctx, claims.reports)
    return ExitStatus.FAILURES if counts.get(Outcome.FAILED) else ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("import", import_command, "import saved snapshots listed in a JSON-lines manifest")
    p.add_argument("--manifest", required=True, metavar="FILE")
