"""One-line summaries of runs, shared by `crawl`, `run` and the demo."""

from __future__ import annotations

from sqlalchemy.orm import Session

from policywatch.terminal import safe
from storage.models import Run


def run_line(run: Run) -> str:
    return (f"run {run.id} ({run.status}): {run.sources_checked} source(s) checked, {run.new_versions} new "
            f"version(s), {run.changes} change(s), {run.failures} failure(s)")


def failure_lines(run: Run) -> list[str]:
    return [f"  failed {o.source_id}: {o.failure_kind}: {safe(o.detail or '')}"
            for o in run.outcomes if o.outcome == "failed"]


def exit_status(run: Run) -> int:
    """0 all fetched, 1 some sources failed, 2 nothing could be fetched."""
    if run.failures == run.sources_checked:
        return 2
    return 1 if run.failures else 0


def describe_runs(session: Session, run_ids: list[int], quiet: bool = False) -> tuple[list[str], int]:
    lines: list[str] = []
    worst = 0
    for run_id in run_ids:
        run = session.get_one(Run, run_id)
        status = exit_status(run)
        worst = max(worst, status)
        if not quiet or status:
            lines.append(run_line(run))
        lines.extend(failure_lines(run))
    return lines, worst
