"""`policywatch sources`: the declared sources and their state."""

from __future__ import annotations

import argparse
from pathlib import Path
from datetime import datetime

from policywatch import jsonview
from policywatch.commands.context import Context, ExitStatus
from storage import queries
from storage.db import reading
from storage.health import CurrentHealth, current_health, last_failed_by_import, outcome_history
from storage.vocabulary import HealthState


def sources(ctx: Context, args: argparse.Namespace) -> int:
    declared = ctx.sources()
    summaries: dict[str, queries.SourceSummary] = {}
    health: dict[str, CurrentHealth] = {}
    by_import: set[str] = set()
    missing = ctx.missing_database()
    if missing is not None and not Path(missing).exists():
        # Before the first crawl the declarations are worth listing; a mistyped --db is said in one line all the
        # same, so that "never checked" everywhere is not taken for the record's word.
        ctx.warn(f"no database at {missing} yet: nothing is recorded there, every source is listed as never "
                 f"checked (`policywatch crawl` or `policywatch import` creates it)")
    else:
        # An empty file is refused as by every reading command: a truncated copy is no record.
        with reading(ctx.factory(must_exist=True)) as session:
            summaries = {s.source.id: s for s in queries.source_summaries(session)}
            history = outcome_history(session)
            health = {sid: current_health(rows, ctx.settings.failing_after_runs) for sid, rows in history.items()}
            by_import = last_failed_by_import(history)
    if args.json:
        rows = [jsonview.source_json(source, summaries.get(sid), True, health.get(sid))
                for sid, source in declared.items()]
        rows += [jsonview.source_json(s.source, s, False, health.get(sid))
                 for sid, s in summaries.items() if sid not in declared]
        ctx.print_json(rows)
        return ExitStatus.OK
    for sid, source in declared.items():
        ctx.say(f"{sid:48} {source.language:3} {source.title} — "
                f"{_state(summaries.get(sid), health.get(sid), sid in by_import)}")
    undeclared = [s for sid, s in summaries.items() if sid not in declared]
    if undeclared:
        ctx.say("recorded, no longer declared:")
        for summary in undeclared:
            row = summary.source
            ctx.say(f"{row.id:48} {row.language:3} {row.title} — "
                    f"{_state(summary, health.get(row.id), row.id in by_import)}")
    return ExitStatus.OK


def _state(summary: queries.SourceSummary | None, health: CurrentHealth | None, imported: bool = False) -> str:
    """The same health the report and the health feed show (storage.health); `imported`: the latest failure was an
    imported file's, not a fetch's."""
    if summary is None or summary.last_record is None:
        return "never checked"
    origins = summary.origins
    state = f"{summary.versions} version(s), "
    if origins.last_crawled is not None:
        state += f"checked {jsonview.when(origins.last_crawled)}"
        if origins.imported_after_crawl:
            state += f", imported files reach to {jsonview.when(origins.imported_until)}"
    else:
        # A saved file's date is when someone else saved the page: no check of ours.
        state += (f"imported {_span(origins.imported_from, origins.imported_until)}, "
                  "not yet checked by a crawl")
    if health is not None and health.state == HealthState.FAILING:
        state += f", FAILING since {jsonview.when(health.since)} ({health.failure_kind})"
    elif health is not None and health.state == HealthState.RETRYING and imported:
        state += f", the last imported file failed ({health.failure_kind})"
    elif health is not None and health.state == HealthState.RETRYING:
        state += f", the last fetch failed ({health.failure_kind}); retried at the next run"
    return state


def _span(first: datetime | None, last: datetime | None) -> str:
    if first == last:
        return f"a file dated {jsonview.when(first)}"
    return f"files dated {jsonview.when(first)} to {jsonview.when(last)}"
