"""`policywatch reextract` and `reanalyse`: bring the stored record up to date after rules change.

Neither announces anything: the vendor did not change its wording.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from policywatch.commands.context import Context, ExitStatus, UserError, outcome_status
from policywatch.commands.claims import print_claims
from storage.vocabulary import Outcome


def reextract(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.declarations import select_sources
    from ingest.reextract import NOTHING_STORED, TooEarly, reextract as reextract_sources

    declared = ctx.sources()
    sources = select_sources(declared, args.only)
    claims = ctx.claims_plan(declared)
    try:
        results = reextract_sources(ctx.factory(must_exist=True), sources, args.now or datetime.now(timezone.utc),
                                    ctx.guard_policy(), claims)
    except TooEarly as exc:
        raise UserError(f"reextract: {exc}" + (" (--now)" if args.now else "")) from None
    for result in results:
        if result.failure is not None:
            ctx.say(f"{result.source_id}: failed: {result.failure.kind}: {result.failure.detail}")
        elif result.outcome in (Outcome.CHANGED, Outcome.FIRST):
            ctx.say(f"{result.source_id}: new version {result.version_number} (technical change, not announced)")
        elif not ctx.quiet:
            ctx.say(f"{result.source_id}: {result.outcome}")
    judged = [r for r in results if r.outcome != NOTHING_STORED]
    changed = sum(r.outcome in (Outcome.CHANGED, Outcome.FIRST) for r in judged)
    failed = sum(r.outcome == Outcome.FAILED for r in judged)
    never = len(results) - len(judged)
    ctx.say(f"re-extracted {len(judged)} source(s): {changed} new version(s), {failed} failure(s)"
            + (f"; {never} with nothing stored to judge again" if never else ""))
    print_claims(ctx, claims.reports)
    return outcome_status(len(judged), failed) if judged else ExitStatus.OK


def reanalyse(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.reanalyse import reanalyse as reanalyse_changes

    claims = ctx.claims_plan()
    report = reanalyse_changes(ctx.factory(must_exist=True), args.now or datetime.now(timezone.utc),
                               args.only or (), args.since, claims)
    if not ctx.quiet:
        for moved in report.moved:
            what = [f"+{flag}" for flag in moved.gained] + [f"-{flag}" for flag in moved.lost]
            if moved.old_severity != moved.new_severity:
                what.append(f"severity {moved.old_severity} → {moved.new_severity}")
            if moved.old_kind != moved.new_kind:
                what.append(f"kind {moved.old_kind} → {moved.new_kind}")
            ctx.say(f"  {moved.source_id} v{moved.to_number}: {', '.join(what) or 'new summary or evidence'}")
    ctx.say(report.describe() + " (not announced)")
    print_claims(ctx, claims.reports)
    return ExitStatus.OK
