"""`policywatch check`: the database's integrity, or (`--site DIR`) a published site against its ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.errors import UserInputError
from policywatch.commands.context import Context, ExitStatus, UserError
from storage.db import (DamagedDatabaseError, NewerSchemaError, damaged, database_name, database_problem,
                        foreign_database_message, schema_state, session_factory)
from storage.integrity import Report, check as check_record
from storage.verify_ledger import summary, verify_site


def check(ctx: Context, args: argparse.Namespace) -> int:
    if args.site is not None:
        return check_site(ctx, Path(args.site), args.allowed_signers)
    if args.allowed_signers is not None:
        raise UserError("--allowed-signers verifies a site's ledger signature: give --site DIR too")
    name = database_name(ctx.settings.db_url)
    try:
        # Only looked at: a schema is created or upgraded by the commands that use the record, never by `check`.
        engine = ctx.inspected_engine(must_exist=True)
        state = schema_state(engine)
        if state.foreign:
            raise UserError(foreign_database_message(name, state.foreign))
        # The checks read the newest schema: an older one is what the next command upgrades, not damage.
        report = check_record(session_factory(engine)) if state.current else Report(notes=[state.pending()])
    except NewerSchemaError as exc:  # not damage: a newer policywatch's record, which this one must not touch
        report = Report(problems=[str(exc)])
    except DamagedDatabaseError as exc:  # damage where SQLite keeps the schema: the one problem to report
        problem = damaged(exc.detail, name, advise_check=False)
        report = Report(problems=[f"the database cannot be opened: {problem}"])
    except UserInputError:  # a URL that names no usable database, a driver that is missing: as every command says
        raise
    except Exception as exc:  # a damaged file fails in ways no single check foresees
        # Not even the schema can be read: that is the one problem to report.
        problem = database_problem(exc, database=name, advise_check=False)
        report = Report(problems=[f"the database cannot be opened: {problem}"])
    counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    _print(ctx, report.notes, report.problems, f"{'FAILED' if report.problems else 'ok'}: {len(report.problems)} "
                                               f"problem(s); checked {counts or 'nothing'}")
    return ExitStatus.FAILURES if report.problems else ExitStatus.OK


def check_site(ctx: Context, site: Path, allowed_signers: str | None) -> int:
    """The published site against its own ledger.jsonl; the database is not read."""
    if not site.is_dir():
        raise UserError(f"--site {site}: not a folder")
    signers = Path(allowed_signers) if allowed_signers is not None else None
    if signers is not None and not signers.is_file():
        raise UserError(f"--allowed-signers {signers}: no such file")
    result = verify_site(site, signers)
    _print(ctx, result.notes, result.problems, summary(result))
    return ExitStatus.FAILURES if result.problems else ExitStatus.OK


def _print(ctx: Context, notes: list[str], problems: list[str], last: str) -> None:
    """Notes, problems and the summary line; quiet, the problems alone (cron mails only what goes wrong)."""
    if not ctx.quiet:
        for note in notes:
            ctx.say(f"note: {note}")
    for problem in problems:
        ctx.say(f"PROBLEM: {problem}")
    if not ctx.quiet:
        ctx.say(last)
