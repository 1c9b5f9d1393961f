"""`policywatch export`: the whole record as a dated ZIP of tables with a README."""

from __future__ import annotations

import argparse
from pathlib import Path

from policywatch.commands.context import Context, ExitStatus
from storage.times import utc_text


def export(ctx: Context, args: argparse.Namespace) -> int:
    from reports.export.archive import write_export
    from reports.export.tables import TABLES

    result = write_export(ctx.factory(must_exist=True), Path(args.out), args.format)
    size = f"{result.size / 1_000_000:.1f} MB" if result.size >= 100_000 else f"{result.size / 1000:.1f} kB"
    if result.written:
        counts = ", ".join(f"{table.name} {result.rows[table.name]}" for table in TABLES if table.name in result.rows)
        ctx.say(f"wrote {result.path} ({size}; {counts}); newest record {utc_text(result.dated)}")
    else:
        ctx.say(f"{result.path} is up to date ({size}): nothing was recorded since it was written")
    return ExitStatus.OK
