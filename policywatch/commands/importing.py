"""`policywatch import`: saved snapshots, with their times, through the same guard as a crawl (a manifest, or an
Open Terms Archive versions repository)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ingest.importer import ImportReport, import_manifest
from ingest.ota import import_ota
from policywatch.commands.context import AddCommand, Context, ExitStatus, UserError, outcome_status
from storage.vocabulary import Outcome


def import_command(ctx: Context, args: argparse.Namespace) -> int:
    if bool(args.manifest) == bool(args.ota):
        raise UserError("import: give either --manifest FILE or --ota DIR --source ID --document PATH")
    if args.ota:
        return _ota(ctx, args)
    return _report(ctx, import_manifest(ctx.factory(), Path(args.manifest), ctx.sources(), ctx.guard_policy()))


def _ota(ctx: Context, args: argparse.Namespace) -> int:
    if not args.source or not args.document:
        raise UserError("import --ota: name the declared source (--source ID) and the repository's file "
                        "(--document 'ChatGPT/Privacy Policy.md')")
    sources = ctx.sources()
    if args.source not in sources:
        raise UserError(f"--source {args.source!r} is not a declared source id")
    done = import_ota(ctx.factory(), Path(args.ota), args.document, sources[args.source], ctx.guard_policy())
    technical = sum(v.technical for v in done.versions)
    ctx.say(f"{args.document}: {len(done.versions)} commit(s) in {args.ota}"
            + (f", {technical} of them Open Terms Archive's own technical upgrades (imported like the others)"
               if technical else ""))
    return _report(ctx, done.report)


def _report(ctx: Context, report: ImportReport) -> int:
    counts = Counter(result.outcome for result in report.applied)
    for result in report.applied:
        if result.failure:
            ctx.say(f"  failed {result.source_id}: {result.failure.kind}: {result.failure.detail}")
    entries = len(report.applied)
    ctx.say(f"imported {entries} entr{'y' if entries == 1 else 'ies'} "
            f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
            f"{report.skipped} already recorded")
    return outcome_status(entries, counts.get(Outcome.FAILED, 0)) if entries else ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("import", import_command, "import saved snapshots listed in a JSON-lines manifest, or the history of "
            "an Open Terms Archive versions repository (one commit per version)")
    p.add_argument("--manifest", metavar="FILE", help="a JSON-lines manifest of saved pages")
    p.add_argument("--ota", metavar="DIR", help="a git checkout of an Open Terms Archive versions repository")
    p.add_argument("--source", metavar="ID", help="with --ota: the declared source the document is a history of")
    p.add_argument("--document", metavar="PATH", help="with --ota: the file in the repository, "
                   "e.g. 'ChatGPT/Privacy Policy.md'")
