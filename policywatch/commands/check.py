"""`policywatch check`: the database's integrity."""

from __future__ import annotations

import argparse

from policywatch.commands.context import AddCommand, Context, ExitStatus, UserError
from storage.db import database_problem
from storage.integrity import Report, check as check_record


def check(ctx: Context, args: argparse.Namespace) -> int:
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


def register(add: AddCommand) -> None:
    add("check", check, "verify the database: integrity, every version with its snapshots, every change "
        "with its versions, every raw snapshot against its sha256, no record dated in the future; exit 1 on any "
        "problem")
