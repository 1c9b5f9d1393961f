"""`policywatch import`: saved snapshots, with their times, through the same guard as a crawl."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ingest.importer import import_entries, read_manifest
from policywatch.commands.context import AddCommand, Context, ExitStatus, outcome_status
from policywatch.commands.claims import print_claims
from storage.vocabulary import Outcome


def import_command(ctx: Context, args: argparse.Namespace) -> int:
    sources = ctx.sources()
    # The manifest is read and checked before the database is opened: a refused manifest writes nothing.
    manifest = Path(args.manifest)
    entries, duplicates = read_manifest(manifest, sources, allow_outside=args.allow_outside,
                                        max_bytes=ctx.settings.download_maxsize)
    claims = ctx.claims_plan(sources)
    report = import_entries(ctx.factory(), manifest, entries, ctx.guard_policy(), duplicates=duplicates,
                            max_bytes=ctx.settings.download_maxsize, claims=claims)
    counts = Counter(result.outcome for result in report.applied)
    for result in report.applied:
        if result.failure:
            ctx.say(f"  failed {result.source_id}: {result.failure.kind}: {result.failure.detail}")
        elif result.detail:
            ctx.say(f"  {result.outcome} {result.source_id}: {result.detail}")
    for reason in report.not_applied:
        ctx.say(f"  {reason}")
    applied = len(report.applied)
    repeated = f", {report.duplicates} repeated in the manifest" if report.duplicates else ""
    ctx.say(f"imported {applied} entr{'y' if applied == 1 else 'ies'} "
            f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
            f"{report.skipped} already recorded{repeated}")
    print_claims(ctx, claims.reports)
    if report.not_applied:
        return ExitStatus.FAILURES
    return outcome_status(applied, counts.get(Outcome.FAILED, 0)) if applied else ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("import", import_command, "import saved snapshots listed in a JSON-lines manifest")
    p.add_argument("--manifest", required=True, metavar="FILE")
    p.add_argument("--allow-outside", action="store_true",
                   help="import files from outside the manifest's folder (absolute paths, '..', symlinks out of it)")
