"""How long the reading commands take to answer, as a user runs them (a fresh process each time).

    python bench/startup_speed.py [-n RUNS] [--code DIR]

Records a small history (three sources, a few versions each, real OpenAI
text from ../shared/ota-data when present) into an SQLite file, then times
`policywatch --help`, `history`, `show` and `changes` end to end (wall clock
and CPU time), the median of N runs each, with Python's bytecode cache on (as an installed policywatch
has it). For scale it also times the interpreter alone, the import of
SQLAlchemy's ORM (which `history`, `show` and `changes` do without: they read
with plain SQL, `storage.reader`) and `diff`, which reads through the ORM.
`--code DIR` times another checkout of policywatch (an earlier commit) on the
same record. Goal: `history`, `show` and `changes` under 0.3 s. Last, what a
first night builds at start-up (the crawl's modules, the bundled rules and
claims), with Python's default collector threshold and with policywatch's
(`policywatch/collector.py`): CPU, the collector's time and its collections.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.record import record_text  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402
from storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from storage.models import SourceFields  # noqa: E402
from storage.record import RawPage, finish_run, start_run, upsert_source  # noqa: E402


def texts() -> list[str]:
    shared = shared_dir()
    if shared is not None:
        found = sorted((shared / "ota-data" / "versions" / "genai-contrib" / "ChatGPT" / "Privacy Policy").glob("*.md"))
        if found:
            return [p.read_text(encoding="utf-8") for p in found[-4:]]
    return [f"We keep your chats for {days} days.\n" for days in (30, 60, 90, 120)]


def record_history(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    factory = session_factory(engine)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    versions = texts()
    for index in range(3):
        source = SourceFields(id=f"bench/source-{index}", vendor="OpenAI", title="Privacy Policy", document_type="Privacy Policy",
                              language="en", urls=(f"https://example.test/{index}",))
        with transaction(factory) as session:
            upsert_source(session, source)
            run = start_run(session, "crawl", t0)
            for day, text in enumerate(versions):
                at = t0 + timedelta(days=day)
                record_text(session, run_id=run.id, source_id=source.id, at=at, pages=[RawPage(
                    source.urls[0], source.urls[0], 200, "text/html", text.encode())], text=text)
            finish_run(session, run.id, t0 + timedelta(days=len(versions)))
    engine.dispose()


def median_seconds(command: list[str], runs: int, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Median wall-clock and CPU (user + system) seconds of the command, each run in a fresh process (in `cwd`,
    so that `python -m policywatch` finds the checkout on PYTHONPATH, not the one it was started from)."""
    subprocess.run(command, env=env, capture_output=True, check=False, cwd=cwd)  # bytecode written once, as after installing
    walls, cpus = [], []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        assert process.stderr is not None
        error = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        process.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}: {error.decode()[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    parser.add_argument("--code", type=Path, default=REPO, metavar="DIR",
                        help="the checkout of policywatch to time (default: this one)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("POLICYWATCH_")}
    env["PYTHONPATH"] = str(args.code.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "record.db"
        record_history(db)
        cli = [sys.executable, "-m", "policywatch", "--db", str(db)]
        rows = [
            ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
            ("python -c 'import sqlalchemy.orm'", [sys.executable, "-c", "import sqlalchemy.orm"]),
            ("policywatch --help", cli + ["--help"]),
            ("policywatch history", cli + ["history", "bench/source-1"]),
            ("policywatch show", cli + ["show", "bench/source-1"]),
            ("policywatch changes", cli + ["changes"]),
            ("policywatch diff (through the ORM)", cli + ["diff", "bench/source-1"]),
        ]
        # On a machine shared with other work the wall clock says more about the others than about the command:
        # its CPU time is what it costs.
        print(f"{args.code.resolve()}: median of {args.runs} runs, each a fresh process; wall clock and CPU "
              f"(user + system)")
        for label, command in rows:
            wall, cpu = median_seconds(command, args.runs, env, Path(tmp))
            print(f"{label:<42} {wall * 1000:>6.0f} ms {cpu * 1000:>6.0f} ms CPU")
    if (args.code / "policywatch" / "collector.py").exists():
        collector_at_start_up(args.code.resolve(), args.runs, env)
    return 0


# What a first night builds before its first page (the crawl's and the record's modules, the bundled rules and
# claims compiled), with the cyclic collector's time and collections counted.
START_UP = """\
import gc, json, sys, time
spent, started = [0.0], [0.0]
def timer(phase, info):
    if phase == "start":
        started[0] = time.process_time()
    else:
        spent[0] += time.process_time() - started[0]
gc.callbacks.append(timer)
if sys.argv[1] == "raised":
    from policywatch.collector import collect_less_often
    collect_less_often()
from pathlib import Path
import crawler.runner, ingest.record, storage.record
from analysis.rules import language_data
from ingest.claims_declarations import load_claims
language_data("en")
load_claims(Path("claims"))
stats = gc.get_stats()
print(json.dumps({"cpu": time.process_time(), "collector": spent[0], "young": stats[0]["collections"],
                  "full": stats[2]["collections"]}))
"""


def collector_at_start_up(code: Path, runs: int, env: dict[str, str]) -> None:
    """A first night's start-up with Python's default young threshold and with policywatch's
    (policywatch/collector.py), alternating, each in a fresh process: medians of CPU, collector time and
    collections."""
    found: dict[str, list[dict[str, float]]] = {"default": [], "raised": []}
    for _ in range(runs):
        for setting in found:
            done = subprocess.run([sys.executable, "-c", START_UP, setting], env=env, cwd=code, capture_output=True,
                                  text=True, check=True)
            found[setting].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\na first night's start-up (modules, rules, claims), median of {runs}:")
    for setting, label in (("default", "Python's default young threshold (700)"),
                           ("raised", "policywatch's (policywatch/collector.py)")):
        median = {key: statistics.median(run[key] for run in found[setting]) for key in found[setting][0]}
        print(f"{label:<42} {median['cpu'] * 1000:>6.0f} ms CPU, collector {median['collector'] * 1000:.0f} ms "
              f"({median['young']:.0f} young, {median['full']:.0f} full collections)")


if __name__ == "__main__":
    sys.exit(main())
