"""What storing version texts compressed costs and saves, on OpenAI's real history (../shared/ota-data).

    python bench/text_storage.py [--before REV] [--runs 5] [--work DIR]

The whole history (942 version files, 28 sources; tests/ota_series.py) is
imported with `policywatch import --manifest`, as "Importing archives" in the
README says, once by the code before texts were compressed (commit REV,
exported with `git archive`) and once by this checkout; a copy of the first
database is then upgraded by this checkout (migration 0014). Printed:

- each database's size as the import left it and after VACUUM, and the bytes
  the version texts take (`versions.text` before, `version_texts.data` after);
- the migration's time;
- the commands `show`, `diff`, `history` (the source with the most versions)
  and a `report` built from scratch, each a whole process run by both codes
  in turn, `--runs` times (the order alternating), as medians of wall time;
- reading every version text in one process, without start-up: the SQL read
  before, the read with decompression after (medians).

`--work DIR` keeps the databases there and reuses them when run again.
Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); prints "skipped: …" and exits 0 when it is absent.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/ota_series.py: how ota-data's series become sources

from ota_series import series  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

# The last commit that stored version texts uncompressed in `versions.text`.
BEFORE = "531238a"


def export_code(rev: str, target: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def write_inputs(work: Path, ota: Path) -> tuple[Path, Path]:
    every = series(ota)
    lines = ["sources:"]
    for sid in sorted(every):
        lines += [f"  - id: {sid}", "    vendor: OpenAI", f"    title: {sid}", "    document_type: Policy",
                  "    language: en", f"    urls: ['https://openai.example/{sid}']"]
    sources = work / "sources.yaml"
    sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = work / "history.jsonl"
    manifest.write_text("".join(json.dumps({"source": sid, "at": row.at.isoformat(), "path": str(row.path)}) + "\n"
                                for sid, rows in every.items() for row in rows), encoding="utf-8")
    return sources, manifest


def command(code: Path, db: Path, sources: Path, *args: str, ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one whole `policywatch` process run from `code`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env["PYTHONPATH"] = str(code)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), "--sources", str(sources), *args],
                          cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"policywatch {' '.join(args)} ({code}) exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def vacuumed_size(db: Path, work: Path) -> int:
    copy = work / f"{db.stem}-vacuumed.db"
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn = sqlite3.connect(copy)
    conn.execute("VACUUM")
    conn.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


def text_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        tables = {name for (name,) in conn.execute("select name from sqlite_master where type='table'")}
        if "version_texts" in tables:
            return conn.execute("select sum(length(data)) from version_texts").fetchone()[0]
        return conn.execute("select sum(length(cast(text as blob))) from versions").fetchone()[0]


def read_all_texts(code: Path, db: Path, runs: int) -> float:
    """Median ms to read every version text in a process already started (`code`'s own way of reading them)."""
    program = f"""
import statistics, sys, time
from sqlalchemy import select
from storage.db import make_engine, reading, session_factory
from storage.models import Version
factory = session_factory(make_engine({str(f"sqlite:///{db}")!r}))
try:
    from storage import texts
except ImportError:
    texts = None
times = []
for _ in range({runs}):
    with reading(factory) as session:
        start = time.perf_counter()
        if texts is None:
            found = dict(session.execute(select(Version.id, Version.text)).all())
        else:
            found = texts.by_version_id(session, session.scalars(select(Version.id)).all())
        times.append(time.perf_counter() - start)
assert len(found) > 900 and all(isinstance(t, str) for t in found.values())
print(1000 * statistics.median(times))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env["PYTHONPATH"] = str(code)
    done = subprocess.run([sys.executable, "-c", program], cwd=code, env=env, capture_output=True, text=True,
                          check=True)
    return float(done.stdout)


def busiest_source(db: Path) -> tuple[str, int]:
    with sqlite3.connect(db) as conn:
        sid, count = conn.execute("select source_id, count(*) from versions group by source_id "
                                  "order by count(*) desc, source_id limit 1").fetchone()
    return sid, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="the commit whose code stores texts uncompressed")
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, help="keep (and reuse) the databases in this folder")
    args = parser.parse_args()
    ota = (shared_dir() or ROOT.parent / "shared") / "ota-data"
    if not (ota / "versions" / "index.csv").is_file():
        print(f"skipped: {ota} not found")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="text-storage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        old_code = export_code(args.before, work / "before-code")
        sources, manifest = write_inputs(work, ota)
        codes = {"before": old_code, "after": ROOT}
        dbs = {name: work / f"{name}.db" for name in codes}
        for name, code in codes.items():
            if not dbs[name].exists():
                # Exit status 1: a few of OpenAI's files are refused by the fetch guard, as they should be.
                seconds = command(code, dbs[name], sources, "import", "--manifest", str(manifest), "--allow-outside",
                                  ok=(0, 1))
                print(f"import with the {name} code: {seconds:.0f} s")
        migrated = work / "migrated.db"
        shutil.copyfile(dbs["before"], migrated)
        seconds = command(ROOT, migrated, sources, "check")
        print(f"migration 0014 of the 'before' database, then `check`: {seconds:.1f} s in all")
        with sqlite3.connect(dbs["before"]) as conn:
            versions = conn.execute("select count(*) from versions").fetchone()[0]
        for name, db in (*dbs.items(), ("migrated", migrated)):
            print(f"{name}: {versions} versions; file {db.stat().st_size / 1e6:.1f} MB as imported, "
                  f"{vacuumed_size(db, work) / 1e6:.1f} MB after VACUUM; version texts {text_bytes(db) / 1e6:.2f} MB")

        sid, count = busiest_source(dbs["before"])
        print(f"commands on {sid} ({count} versions), medians of {args.runs} paired runs (wall, whole process):")
        out = work / "site"
        commands: dict[str, Callable[[Path, Path], float]] = {
            "show": lambda code, db: command(code, db, sources, "show", sid),
            "show --json (v1)": lambda code, db: command(code, db, sources, "show", sid, "--version", "1", "--json"),
            "diff (last two)": lambda code, db: command(code, db, sources, "diff", sid, "--colour", "never"),
            "history": lambda code, db: command(code, db, sources, "history", sid),
            "history --json": lambda code, db: command(code, db, sources, "history", sid, "--json"),
            "report from scratch": lambda code, db: (shutil.rmtree(out, ignore_errors=True),
                                                     command(code, db, sources, "report", "--out", str(out)))[1],
        }
        for label, run in commands.items():
            times: dict[str, list[float]] = {"before": [], "after": []}
            for n in range(args.runs):
                for name in (("before", "after") if n % 2 == 0 else ("after", "before")):
                    times[name].append(run(codes[name], dbs[name]))
            before, after = statistics.median(times["before"]), statistics.median(times["after"])
            print(f"  {label}: before {before:.3f} s, after {after:.3f} s ({100 * (after - before) / before:+.1f} %)")
        reads = {name: read_all_texts(codes[name], dbs[name], args.runs) for name in codes}
        print(f"reading all {versions} version texts in one process (median of {args.runs}): "
              f"before {reads['before']:.0f} ms (SQL), after {reads['after']:.0f} ms (SQL and decompression)")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
