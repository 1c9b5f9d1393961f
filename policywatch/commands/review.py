"""`policywatch review`: refused and held texts of a source, and accepting one by hand."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from policywatch.commands.context import Context, ExitStatus, UserError


def review(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.review import ReviewError, accept, candidates, describe

    source = ctx.sources().get(args.id)
    factory = ctx.factory(must_exist=True)
    if args.accept is not None:
        now = datetime.now(timezone.utc)
        try:
            result = accept(factory, args.id, args.accept, args.note or "", now, source)
        except ReviewError as exc:
            raise UserError(str(exc)) from None
        ctx.say(f"{args.id}: fetch {args.accept} accepted as version {result.version_number}")
        # A recording command: the claims are evaluated on the new version as after a crawl or an import.
        from ingest.claims import evaluate_claims
        from policywatch.commands.claims import print_claims

        print_claims(ctx, [evaluate_claims(factory, ctx.claims_plan(), now)])
        return ExitStatus.OK
    found = candidates(factory, args.id, source)
    if args.show is not None:
        chosen = next((c for c in found if c.outcome_id == args.show), None)
        if chosen is None:
            raise UserError(f"{args.id} has no refused or held text from fetch {args.show}")
        ctx.out.write(chosen.text or "")
        return ExitStatus.OK
    if not found:
        ctx.say(f"{args.id}: no refused or held text")
        return ExitStatus.OK
    for candidate in found:
        for line in describe(candidate):
            ctx.say(line)
    ctx.say(f"show one with `policywatch review {args.id} --show FETCH`, accept one with "
            f"`policywatch review {args.id} --accept FETCH --note WHY`")
    return ExitStatus.OK
