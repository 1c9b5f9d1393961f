"""One-line summaries of runs, shared by `crawl`, `run` and the demo."""

from __future__ import annotations

from pathlib import Path

from storage.models import Run
from storage.vocabulary import Outcome


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def nightly_line(run: Run, report: Path, seconds: float, unrecorded: int = 0) -> str:
    """What `policywatch run` prints (and logs) once the night's crawl and report are done, with the night's
    whole time; sources the database would not take (`unrecorded`) count as checked and failed."""
    return (f"policywatch run {run.id}: {_plural(run.sources_checked + unrecorded, 'source')} checked, "
            f"{_plural(run.new_versions, 'new version')}, {_plural(run.changes, 'change')}, "
            f"{_plural(run.failures + unrecorded, 'failure')} in {seconds:.0f} s; report: {report}")


def run_line(run: Run) -> str:
    return (f"run {run.id} ({run.status}): {run.sources_checked} source(s) checked, {run.new_versions} new "
            f"version(s), {run.changes} change(s), {run.failures} failure(s)")


def failure_lines(run: Run) -> list[str]:
    return [f"  failed {o.source_id}: {o.failure_kind}: {o.detail or ''}"
            for o in run.outcomes if o.outcome == Outcome.FAILED]


def held_lines(run: Run) -> list[str]:
    """Captures of this run held for confirmation (or already confirmed or dropped by a later one)."""
    return [f"  {o.outcome} {o.source_id}: {o.detail or ''}"
            for o in run.outcomes if o.outcome in (Outcome.PENDING, Outcome.DROPPED)]
