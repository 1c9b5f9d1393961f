"""`policywatch import`: saved snapshots, with their times, through the same guard as a crawl."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from policywatch.commands.context import AddCommand, Context, ExitStatus
from storage.vocabulary import Outcome


def import_command(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.importer import import_manifest
    from ingest.judge import GuardPolicy

    policy = GuardPolicy(ctx.settings.too_short_fraction, ctx.settings.failing_after_runs)
    report = import_manifest(ctx.factory(), Path(args.manifest), ctx.sources(), policy)
    counts = Counter(result.outcome for result in report.applied)
    for result in report.applied:
        if result.failure:
            ctx.say(f"  failed {result.source_id}: {result.failure.kind}: {result.failure.detail}")
    entries = len(report.applied)
    ctx.say(f"imported {entries} entr{'y' if entries == 1 else 'ies'} "
            f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
            f"{report.skipped} already recorded")
    return ExitStatus.FAILURES if counts.get(Outcome.FAILED) else ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("import", import_command, "import saved snapshots listed in a JSON-lines manifest")
    p.add_argument("--manifest", required=True, metavar="FILE")
