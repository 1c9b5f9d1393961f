"""What the tamper-evident log costs, on OpenAI's real history (../shared/ota-data) and SQLite.

Prints:

- importing the whole history (every series of ota-data as one source, tests/ota_series.py, as
  `policywatch import` does, without claims) with the ledger and with appending switched off, in
  alternating runs, median wall and CPU time of N each; and, in the runs with the ledger, the time spent
  appending entries (storage.ledger.append) and what that makes per entry;
- verifying: `check`'s two ledger steps (the chain recomputed; every version's text hashed and matched
  with its entry), and the chain alone as verify-ledger.py recomputes it from ledger.jsonl;
- appending alone: entries appended per second, each in its own transaction as a recording does it, to a
  log that already holds the history.

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); prints "skipped: …" and exits 0 when it is absent.

Usage: python bench/ledger_speed.py [-n RUNS] [--appends N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/ota_series.py: how ota-data's series become sources

from ingest.declarations import load_sources  # noqa: E402
from ingest.importer import import_manifest  # noqa: E402
from claims_record_speed import declarations, manifest  # noqa: E402
from ota_series import series  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402
from storage import integrity, ledger  # noqa: E402
from storage.db import make_engine, reading, session_factory, transaction, upgrade  # noqa: E402
from storage.integrity import Report  # noqa: E402
from storage.verify_ledger import chain_problems  # noqa: E402
from storage.vocabulary import LedgerKind  # noqa: E402




ORIGINAL_APPEND = ledger.append


class Timed:
    """storage.ledger.append (which every new version's entry goes through), timed, or switched off."""

    def __init__(self, original: Callable[..., Any], enabled: bool):
        self.original, self.enabled, self.seconds, self.cpu, self.calls = original, enabled, 0.0, 0.0, 0

    def __call__(self, *args: Any) -> Any:
        if not self.enabled:
            return None
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return self.original(*args)
        finally:
            self.seconds += time.perf_counter() - start
            self.cpu += time.process_time() - cpu
            self.calls += 1


def import_once(work: Path, name: str, history: Path, sources: Any, enabled: bool) -> tuple[float, float, Timed]:
    engine = make_engine(f"sqlite:///{work / name}")
    upgrade(engine)
    timed = Timed(ORIGINAL_APPEND, enabled)
    ledger.append = timed  # type: ignore[assignment]
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        import_manifest(session_factory(engine), history, sources, allow_outside=True)
        return time.perf_counter() - wall, time.process_time() - cpu, timed
    finally:
        ledger.append = ORIGINAL_APPEND  # type: ignore[assignment]
        engine.dispose()



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    ota = (shared_dir() or ROOT.parent / "shared") / "ota-data"
    if not (ota / "versions" / "index.csv").is_file():
        print(f"skipped: {ota} not found")
        return 0
    every = series(ota)
    history = [(sid, r) for sid, rows in every.items() for r in rows]
    work = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        sources = load_sources(declarations(work / "sources.yaml", sorted(every)))
        path = manifest(work / "history.jsonl", history)
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        appended: list[Timed] = []
        for run in range(args.runs):
            for enabled in (True, False):
                wall, cpu, timed = import_once(work, f"{run}-{enabled}.db", path, sources, enabled)
                runs[enabled].append((wall, cpu))
                if enabled:
                    appended.append(timed)
        entries = appended[0].calls
        per_entry = statistics.median(t.seconds / t.calls for t in appended)
        cpu_per_entry = statistics.median(t.cpu / t.calls for t in appended)
        with_wall, with_cpu = (statistics.median(x) for x in zip(*runs[True]))
        without_wall, without_cpu = (statistics.median(x) for x in zip(*runs[False]))
        print(f"import of the whole history ({len(history)} files, {len(every)} sources, {entries} versions), "
              f"median of {args.runs}: with the ledger {with_wall:.1f} s wall / {with_cpu:.1f} s CPU, without "
              f"{without_wall:.1f} s / {without_cpu:.1f} s; appending inside it {per_entry * entries:.2f} s "
              f"({1000 * per_entry:.2f} ms wall, {1000 * cpu_per_entry:.2f} ms CPU per entry; "
              f"{100 * per_entry * entries / with_wall:.1f} % of the import's wall time, "
              f"{100 * cpu_per_entry * entries / with_cpu:.1f} % of its CPU time)")

        engine = make_engine(f"sqlite:///{work / '0-True.db'}")
        factory = session_factory(engine)
        timings = []
        for step in (integrity._ledger_chain_checks, integrity._ledger_version_checks):
            report = Report()
            start = time.perf_counter()
            with reading(factory) as session:
                step(session, report)
            timings.append(time.perf_counter() - start)
            assert report.problems == [], report.problems[:3]
        with reading(factory) as session:
            lines = [ledger.json_line(e) for e in ledger.entries(session)]
        start = time.perf_counter()
        problems = list(chain_problems(json.loads(line) for line in lines))
        chain_seconds = time.perf_counter() - start
        assert problems == []
        print(f"verifying {len(lines)} entries: check's chain step {timings[0]:.2f} s, its versions step "
              f"(every text hashed) {timings[1]:.2f} s; the chain from ledger.jsonl alone {chain_seconds:.3f} s "
              f"({len(lines) / chain_seconds:,.0f} entries/s)")
        at = datetime(2030, 1, 1, tzinfo=timezone.utc)
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(args.appends):
            with transaction(factory) as session:
                ledger.append(session, LedgerKind.VERSION, f"bench/s{i % 50}", 10_000 + i, "0" * 64, ["1" * 64],
                              at + timedelta(seconds=i))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"appending alone: {args.appends} entries, one transaction each, after {entries} already in the log: "
              f"{args.appends / seconds:,.0f} entries/s ({1000 * seconds / args.appends:.2f} ms wall, "
              f"{1000 * cpu / args.appends:.2f} ms CPU each, the commit included)")

        engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
