"""`policywatch sources`: the declared sources and their state."""

from __future__ import annotations

import argparse

from policywatch import jsonview
from policywatch.commands.context import AddCommand, Context, ExitStatus
from storage import queries
from storage.db import reading
from storage.vocabulary import Outcome


def sources(ctx: Context, args: argparse.Namespace) -> int:
    declared = ctx.sources()
    summaries: dict[str, queries.SourceSummary] = {}
    if ctx.missing_database() is None:
        with reading(ctx.factory()) as session:
            summaries = {s.source.id: s for s in queries.source_summaries(session)}
    if args.json:
        rows = [jsonview.source_json(source, summaries.get(sid), True) for sid, source in declared.items()]
        rows += [jsonview.source_json(s.source, s, False) for sid, s in summaries.items() if sid not in declared]
        ctx.print_json(rows)
        return ExitStatus.OK
    for sid, source in declared.items():
        summary = summaries.get(sid)
        state = "never checked"
        if summary and summary.last_checked:
            state = f"{summary.versions} version(s), checked {jsonview.when(summary.last_checked)}"
            if summary.last_outcome == Outcome.FAILED:
                state += f", FAILING ({summary.last_failure_kind})"
        ctx.say(f"{sid:48} {source.language:3} {source.title} — {state}")
    return ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("sources", sources, "list declared sources and their state")
    p.add_argument("--json", action="store_true")
