"""`policywatch check`: the database's integrity, or (`--site DIR`) a published site against its ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

from policywatch.commands.context import Context, ExitStatus, UserError
from storage.db import database_problem
from storage.integrity import Report, check as check_record
from storage.verify_ledger import summary, verify_site


def check(ctx: Context, args: argparse.Namespace) -> int:
    if args.site is not None:
        return check_site(ctx, Path(args.site), args.allowed_signers)
    if args.allowed_signers is not None:
        raise UserError("--allowed-signers verifies a site's ledger signature: give --site DIR too")
    try:
        report = check_record(ctx.factory(must_exist=True))
    except UserError:
        raise
    except Exception as exc:  # a damaged file fails in ways no single check foresees
        # Not even the schema can be read: that is the one problem to report.
        report = Report(problems=[f"the database cannot be opened: {database_problem(exc)}"])
    for note in report.notes:
        ctx.say(f"note: {note}")
    for problem in report.problems:
        ctx.say(f"PROBLEM: {problem}")
    counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    ctx.say(f"{'FAILED' if report.problems else 'ok'}: {len(report.problems)} problem(s); checked {counts or 'nothing'}")
    return ExitStatus.FAILURES if report.problems else ExitStatus.OK


def check_site(ctx: Context, site: Path, allowed_signers: str | None) -> int:
    """The published site against its own ledger.jsonl; the database is not read."""
    if not site.is_dir():
        raise UserError(f"--site {site}: not a folder")
    signers = Path(allowed_signers) if allowed_signers is not None else None
    if signers is not None and not signers.is_file():
        raise UserError(f"--allowed-signers {signers}: no such file")
    result = verify_site(site, signers)
    for note in result.notes:
        ctx.say(f"note: {note}")
    for problem in result.problems:
        ctx.say(f"PROBLEM: {problem}")
    ctx.say(summary(result))
    return ExitStatus.FAILURES if result.problems else ExitStatus.OK
