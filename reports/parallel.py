"""Rendering many sources on several cores.

A from-scratch build of a large record spends most of its time creating
files and rendering templates, both of which scale with processes. Each
worker gets its share of the sources (already loaded, so the database is
read once for metadata), opens its own connection for texts and snapshots,
and returns which files it owns; the parent merges that into the manifest.
Workers are spawned, not forked: the nightly job calls this after Scrapy's
reactor has run threads in the same process.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from reports.data import SourceInfo
from reports.feedfiles import Excerpts
from reports.output import SiteWriter
from reports.sourcefiles import write_source
from storage.db import make_engine, reading, session_factory

# Below this many sources, starting processes costs more than it saves.
MIN_SOURCES = 100
MAX_WORKERS = 4


@dataclass(frozen=True)
class Job:
    db_url: str
    out: Path
    salt: str
    full: bool
    base_url: str
    sources: tuple[SourceInfo, ...]
    stored: dict[str, dict[int, str]]  # reports.data.stored_text_digests of these sources


@dataclass(frozen=True)
class Done:
    current: dict[str, str]
    units: dict[str, dict[str, Any]]
    written: int
    skipped: int
    problems: list[str]
    damaged_texts: set[tuple[str, int]]


def default_workers(sources: int, everything_stale: bool) -> int:
    """Several processes only to write a large site from scratch; an incremental
    build writes a few dozen files, less than the processes would cost to start."""
    if sources < MIN_SOURCES or not everything_stale:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _run(job: Job) -> Done:
    engine = make_engine(job.db_url)
    try:
        writer = SiteWriter(job.out, job.salt, job.full)
        with reading(session_factory(engine)) as session:
            excerpts = Excerpts(session)
            for source in job.sources:
                write_source(session, writer, source, job.base_url, excerpts, job.stored[source.id])
        return Done(writer.current, writer.units, writer.written, writer.skipped, writer.problems,
                    writer.damaged_texts)
    finally:
        engine.dispose()


def write_sources_in_parallel(writer: SiteWriter, db_url: str, sources: Sequence[SourceInfo], base_url: str,
                              workers: int, stored: dict[str, dict[int, str]]) -> None:
    """Write every source's files with `workers` processes; merge what they wrote into `writer`."""
    # Interleaved shares even out sources of very different sizes.
    jobs = [Job(db_url, writer.out, writer.salt, writer.full, base_url, tuple(sources[i::workers]),
                {s.id: stored.get(s.id, {}) for s in sources[i::workers]}) for i in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for done in pool.map(_run, jobs):
            writer.current.update(done.current)
            writer.units.update(done.units)
            writer.written += done.written
            writer.skipped += done.skipped
            for problem in done.problems:
                writer.problem(problem)
            writer.damaged_texts |= done.damaged_texts
