"""`policywatch import`: saved snapshots, with their times, through the same guard as a crawl (a manifest, or an
Open Terms Archive versions repository)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from policywatch.commands.claims import print_claims
from policywatch.commands.context import Context, ExitStatus, UserError, outcome_status
from storage.vocabulary import Outcome

if TYPE_CHECKING:
    from ingest.claims import ClaimsPlan
    from ingest.importer import ImportReport


def import_command(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.importer import import_entries, read_manifest

    if bool(args.manifest) == bool(args.ota):
        raise UserError("import: give either --manifest FILE or --ota DIR --source ID --document PATH")
    if args.ota:
        return _ota(ctx, args)
    sources = ctx.sources()
    # The manifest is read and checked before the database is opened: a refused manifest writes nothing.
    manifest = Path(args.manifest)
    entries, duplicates = read_manifest(manifest, sources, allow_outside=args.allow_outside,
                                        max_bytes=ctx.settings.download_maxsize)
    claims = ctx.claims_plan(sources)
    report = import_entries(ctx.factory(), manifest, entries, ctx.guard_policy(), duplicates=duplicates,
                            max_bytes=ctx.settings.download_maxsize, claims=claims)
    return _report(ctx, report, claims)


def _ota(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.ota import history, import_ota

    if not args.source or not args.document:
        raise UserError("import --ota: name the declared source (--source ID) and the repository's file "
                        "(--document 'ChatGPT/Privacy Policy.md')")
    sources = ctx.sources()
    if args.source not in sources:
        raise UserError(f"--source {args.source!r} is not a declared source id")
    claims = ctx.claims_plan(sources)
    # The repository and the document are checked before the database is opened: a wrong --ota creates no record.
    versions = history(Path(args.ota), args.document)
    done = import_ota(ctx.factory(), Path(args.ota), args.document, sources[args.source], ctx.guard_policy(),
                      claims=claims, versions=versions)
    technical = sum(v.technical for v in done.versions)
    if not ctx.quiet:
            ctx.say(f"{args.document}: {len(done.versions)} commit(s) in {args.ota}"
                + (f", {technical} of them Open Terms Archive's own technical upgrades (imported like the others)"
                   if technical else ""))
    return _report(ctx, done.report, claims)


def _report(ctx: Context, report: ImportReport, claims: ClaimsPlan) -> int:
    """One line per failed, held or refused entry, then the counts; quiet, only the failed and refused entries,
    unindented (as `crawl -q` prints its failures)."""
    counts = Counter(result.outcome for result in report.applied)
    indent = "" if ctx.quiet else "  "
    for result in report.applied:
        if result.failure:
            ctx.say(f"{indent}failed {result.source_id}: {result.failure.kind}: {result.failure.detail}")
        elif result.detail and not ctx.quiet:
            ctx.say(f"  {result.outcome} {result.source_id}: {result.detail}")
    for reason in report.not_applied:
        ctx.say(f"{indent}{reason}")
    applied = len(report.applied)
    repeated = f", {report.duplicates} repeated in the manifest" if report.duplicates else ""
    if not ctx.quiet:
        ctx.say(f"imported {applied} entr{'y' if applied == 1 else 'ies'} "
                f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
                f"{report.skipped} already recorded{repeated}")
    print_claims(ctx, claims.reports)
    if report.not_applied:
        return ExitStatus.FAILURES
    return outcome_status(applied, counts.get(Outcome.FAILED, 0)) if applied else ExitStatus.OK
