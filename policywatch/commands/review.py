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
        try:
            result = accept(factory, args.id, args.accept, args.note or "", datetime.now(timezone.utc), source)
        except ReviewError as exc:
            raise UserError(str(exc)) from None
        ctx.say(f"{args.id}: fetch {args.accept} accepted as version {result.version_number}")
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
