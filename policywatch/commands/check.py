"""`policywatch check`: the database's integrity."""

from __future__ import annotations

import argparse

from policywatch.commands.context import AddCommand, Context, ExitStatus
from storage.db import transaction
from storage.integrity import check as check_record


def check(ctx: Context, args: argparse.Namespace) -> int:
    with transaction(ctx.factory(must_exist=True)) as session:
        report = check_record(session)
    for note in report.notes:
        ctx.say(f"note: {note}")
    for problem in report.problems:
        ctx.say(f"PROBLEM: {problem}")
    counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    ctx.say(f"{'FAILED' if report.problems else 'ok'}: {len(report.problems)} problem(s); checked {counts}")
    return ExitStatus.FAILURES if report.problems else ExitStatus.OK


def register(add: AddCommand) -> None:
    add("check", check, "verify the database: integrity, every version with its snapshots, every change "
        "with its versions, every raw snapshot against its sha256; exit 1 on any problem")
