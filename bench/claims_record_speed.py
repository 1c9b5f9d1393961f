"""What claims cost through the real recording path (import, run lifecycle, SQLite), on OpenAI's real history.

Prints, for the bundled claims (claims/openai.yaml) and every series of
../shared/ota-data as one source (tests/ota_series.py), imported as
Markdown files with `ingest.importer.import_manifest`, exactly as
`policywatch import` does:

- the whole history in one import: the import's time, and the claims step
  at the end of its run (every version evaluated incrementally, evidence,
  states and events stored), from the evaluation log;
- a claims-file change afterwards: every claim's whole history evaluated
  again from the record (`claims evaluate --full`);
- one night: every source fetched once, one of them changed (the largest
  rewrite of the privacy policy, 2026-01-23 → 2026-05-18), the others
  unchanged, recorded by the importer; then the claims step its run ends
  with (`evaluate_claims`, as `ingest.runs.end_run` calls it), CPU and wall
  time, median of N (CPU time is the steadier figure on a machine shared
  with other work); and, apart, compiling the claims file in a fresh
  interpreter, which a process pays once and only when a source in scope of
  a claim has a new version.

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); prints "skipped: …" and exits 0 when it is absent.

Usage: python bench/claims_record_speed.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/ota_series.py: how ota-data's series become sources

from ingest.claims import ClaimsPlan, evaluate_claims  # noqa: E402
from ingest.claims_declarations import BUNDLED_CLAIMS  # noqa: E402
from ingest.declarations import load_sources  # noqa: E402
from ingest.importer import import_manifest  # noqa: E402
from ota_series import Row, privacy_source_id, series  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402
from storage import claims_queries  # noqa: E402
from storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402

CHANGED_AT = "2026-05-18"


def declarations(path: Path, ids: list[str]) -> Path:
    lines = ["sources:"]
    for sid in ids:
        lines += [f"  - id: {sid}", "    vendor: OpenAI", f"    title: {sid}", "    document_type: Policy",
                  "    language: en", f"    urls: ['https://openai.example/{sid}']"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def manifest(path: Path, entries: list[tuple[str, Row]], at: str | None = None) -> Path:
    path.write_text("".join(json.dumps({"source": sid, "at": at or row.at.isoformat(), "path": str(row.path)}) + "\n"
                            for sid, row in entries), encoding="utf-8")
    return path


def compile_in_a_fresh_process() -> float:
    """CPU milliseconds to load and compile the bundled claims in a new interpreter (no pattern cache yet)."""
    code = ("import time; from ingest.claims_declarations import load_claims; t = time.process_time(); load_claims(); "
            "print(1000 * (time.process_time() - t))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    ota = (shared_dir() or ROOT.parent / "shared") / "ota-data"
    if not (ota / "versions" / "index.csv").is_file():
        print(f"skipped: {ota} not found")
        return 0
    every = series(ota)
    privacy = every[privacy_source_id()]
    changed = next(i for i, r in enumerate(privacy) if r.at.date().isoformat() == CHANGED_AT)
    # The privacy policy's history stops just before the night's change; the night comes after every record.
    history = [(sid, r) for sid, rows in every.items() for r in (privacy[:changed] if sid == privacy_source_id() else rows)]
    night_at = (max(r.at for _, r in history) + timedelta(days=1)).isoformat()
    night = [(sid, privacy[changed] if sid == privacy_source_id() else rows[-1]) for sid, rows in every.items()]
    work = Path(tempfile.mkdtemp(prefix="claims-bench-"))
    try:
        sources = load_sources(declarations(work / "sources.yaml", sorted(every)))
        db = work / "history.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        factory = session_factory(engine)
        plan = ClaimsPlan(BUNDLED_CLAIMS, sources)
        start = time.perf_counter()
        # The shared history lies outside the bench's work folder, where its manifest is written.
        report = import_manifest(factory, manifest(work / "history.jsonl", history), sources, allow_outside=True,
                                 claims=plan)
        total = time.perf_counter() - start
        with transaction(factory) as session:
            steps = claims_queries.evaluations(session)
            events = len(claims_queries.events(session))
            intervals = len(claims_queries.intervals(session))
        claims_seconds = sum(s.seconds for s in steps)
        print(f"whole history: {len(report.applied)} entries of {len(every)} sources imported in {total:.1f} s; "
              f"claims step {claims_seconds:.2f} s ({steps[-1].versions} versions evaluated, {intervals} evidence "
              f"intervals, {events} status events), {100 * claims_seconds / total:.1f} % of the import")
        start = time.perf_counter()
        evaluate_claims(factory, plan, datetime.now(timezone.utc), full=True)
        print(f"claims-file change: every claim's whole history evaluated again from the record in "
              f"{time.perf_counter() - start:.2f} s")
        engine.dispose()

        steps: list[tuple[float, float]] = []
        records = []
        for run in range(args.runs):
            copy = work / f"night-{run}.db"
            shutil.copyfile(db, copy)
            night_engine = make_engine(f"sqlite:///{copy}")
            night_factory = session_factory(night_engine)
            # The night's fetches recorded as the importer records them, then the claims step its run ends with.
            start = time.perf_counter()
            night_run = import_manifest(night_factory, manifest(work / "night.jsonl", night, night_at), sources,
                                        allow_outside=True).run_id
            records.append(time.perf_counter() - start)
            wall, cpu = time.perf_counter(), time.process_time()
            step = evaluate_claims(night_factory, plan, datetime.fromisoformat(night_at), night_run)
            steps.append((1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)))
            assert step.versions == 1 and len(step.claims_read) >= 1
            night_engine.dispose()
        compile_ms = [compile_in_a_fresh_process() for _ in range(args.runs)]

        def figures(values: list[tuple[float, float]]) -> str:
            walls, cpus = [w for w, _ in values], [c for _, c in values]
            return (f"{statistics.median(cpus):.0f} ms CPU (min {min(cpus):.0f}), "
                    f"{statistics.median(walls):.0f} ms wall (min {min(walls):.0f})")

        print(f"one night ({len(night)} sources fetched, {privacy_source_id()} changed, {len(night) - 1} unchanged), "
              f"median of {args.runs}: claims step {figures(steps)}; recording the night's fetches "
              f"{statistics.median(records):.2f} s; compiling the claims file, once per process and only on a night "
              f"with a new version in scope: {statistics.median(compile_ms):.0f} ms CPU in a fresh interpreter")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
