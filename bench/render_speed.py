"""How long the report takes to render: from scratch, and after a nightly run with 3 changes.

The record is built with storage.record: 1,000 sources × 30 versions by
default, each version a short policy (about 300 words) that differs from the
one before in one sentence. Recording a version costs about 7 ms (the ORM,
snapshot compression and the flagger), so the sources are recorded in slices
by one process per core, each into its own SQLite file, and the slices are
then merged into one file; only the rendering is timed. The nightly run that
follows checks every source again and finds 3 of them changed, as a real
night would.

    .venv/bin/python bench/render_speed.py [--sources N] [--versions N] [--changes N] [--record FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.data import stored_text_digests  # noqa: E402
from reports.site import build_site  # noqa: E402
from sqlalchemy import and_, func, literal_column, select  # noqa: E402

from storage import texts  # noqa: E402
from storage.db import make_engine, reading, session_factory, transaction, upgrade  # noqa: E402
from storage.models import Version  # noqa: E402
from storage.record import RawPage, finish_run, start_run, upsert_source  # noqa: E402
from ingest.record import record_text  # noqa: E402

SECTIONS = 12
DAY0 = datetime(2025, 1, 1, 3, 0, tzinfo=timezone.utc)
WORDS = ("data personal we you your account content retain delete days service provide share partners train "
         "models improve safety law request access export settings controls privacy security store process").split()


class Declared:
    @classmethod
    def from_id(cls, source_id: str) -> "Declared":
        return cls(int(source_id.rsplit("-", 1)[1]))

    def __init__(self, n: int):
        self.id = f"vendor{n % 40:02d}/document-{n:04d}"
        self.vendor = f"Vendor {n % 40}"
        self.title = f"Privacy document {n}"
        self.document_type = "Privacy Policy"
        self.language = "en"
        self.urls = [f"https://vendor{n % 40}.example/doc/{n}"]
        self.tags: list[str] = []


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def first_text(rng: random.Random) -> list[str]:
    return [f"## Section {s}\n\n" + " ".join(sentence(rng) for _ in range(2)) for s in range(1, SECTIONS + 1)]


def edit(paragraphs: list[str], rng: random.Random) -> list[str]:
    edited = list(paragraphs)
    index = rng.randrange(len(edited))
    head = edited[index].split("\n\n")[0]
    edited[index] = f"{head}\n\n" + " ".join(sentence(rng) for _ in range(2))
    return edited


def render(paragraphs: list[str]) -> str:
    return "# Privacy document\n\n" + "\n\n".join(paragraphs) + "\n"


def page(source: Declared, text: str) -> RawPage:
    body = f"<html><body><main>{text}</main></body></html>".encode()
    return RawPage(source.urls[0], source.urls[0], 200, "text/html; charset=utf-8", body)


def record_slice(db: Path, numbers: range, versions: int) -> None:
    """Record sources `numbers` night after night into their own file."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    factory = session_factory(engine)
    rng = random.Random(numbers.start)
    days = [DAY0 + timedelta(days=day) for day in range(versions)]
    with transaction(factory) as session:
        # Every slice creates the same runs in the same order, so run ids agree when slices merge.
        run_ids = [start_run(session, "crawl", at).id for at in days]
    for n in numbers:
        source = Declared(n)
        with transaction(factory) as session:
            upsert_source(session, source)
            paragraphs = first_text(rng)
            for day, (run_id, at) in enumerate(zip(run_ids, days)):
                if day:
                    paragraphs = edit(paragraphs, rng)
                text = render(paragraphs)
                record_text(session, run_id=run_id, source_id=source.id, at=at, pages=[page(source, text)],
                               text=text)
    engine.dispose()


def merge(target: sqlite3.Connection, part: Path) -> None:
    """Append a slice, shifting its integer ids past the target's; foreign keys follow (read from the schema)."""
    target.execute("attach database ? as part", (str(part),))
    tables = [name for (name,) in target.execute("select name from main.sqlite_master where type='table'")
              if name not in ("alembic_version", "runs")]

    def has_integer_id(table: str) -> bool:
        return any(c[1] == "id" and c[5] and c[2].upper() == "INTEGER"
                   for c in target.execute(f"pragma main.table_info({table})"))

    offsets = {t: target.execute(f"select coalesce(max(id), 0) from main.{t}").fetchone()[0]
               for t in tables if has_integer_id(t)}
    for table in tables:
        columns = [c[1] for c in target.execute(f"pragma main.table_info({table})")]
        references = {fk[3]: fk[2] for fk in target.execute(f"pragma main.foreign_key_list({table})")}
        values = []
        for column in columns:
            if column == "id" and table in offsets:
                values.append(f"id + {offsets[table]}")
            elif references.get(column) in offsets:
                values.append(f"{column} + {offsets[references[column]]}")
            else:
                values.append(column)
        verb = "insert" if table in offsets else "insert or ignore"  # sources and blobs are keyed by content
        target.execute(f"{verb} into main.{table} ({', '.join(columns)}) "
                       f"select {', '.join(values)} from part.{table}")
    target.commit()
    target.execute("detach database part")


def build_record(db: Path, sources: int, versions: int) -> float:
    started = perf_counter()
    workers = max(1, min(os.cpu_count() or 1, 8, sources))
    parts = [db.with_name(f"{db.stem}-slice-{i}.db") for i in range(workers)]
    slices = [range(sources * i // workers, sources * (i + 1) // workers) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(record_slice, parts, slices, [versions] * workers))
    shutil.move(parts[0], db)
    with sqlite3.connect(db) as target:
        for part in parts[1:]:
            merge(target, part)
            part.unlink()
    engine = make_engine(f"sqlite:///{db}")
    with transaction(session_factory(engine)) as session:
        for run_id, day in zip(range(1, versions + 1), range(versions)):
            finish_run(session, run_id, DAY0 + timedelta(days=day))
    engine.dispose()
    return perf_counter() - started


def nightly_run(db: Path, day: int, changed: int) -> None:
    """Check every source again: the first `changed` of them have a new sentence, the others are as they were."""
    engine = make_engine(f"sqlite:///{db}")
    factory = session_factory(engine)
    rng = random.Random(day)
    at = DAY0 + timedelta(days=day)
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", at).id
        latest = dict(session.execute(
            select(Version.source_id, Version.sha256).join(
                select(Version.source_id.label("sid"), func.max(Version.number).label("top"))
                .group_by(Version.source_id).subquery(), and_(Version.source_id == literal_column("sid"),
                                                              Version.number == literal_column("top")))).all())
        found = texts.read_many(session, latest.values())
        current = {sid: found[sha] for sid, sha in latest.items()}
    for index, source_id in enumerate(sorted(current)):
        text = current[source_id] + (f"\n{sentence(rng)}\n" if index < changed else "")
        with transaction(factory) as session:
            record_text(session, run_id=run_id, source_id=source_id, at=at,
                           pages=[page(Declared.from_id(source_id), text)], text=text)
    with transaction(factory) as session:
        finish_run(session, run_id, at)
    engine.dispose()


def timed_build(db: Path, out: Path, full: bool) -> tuple[float, int, int]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        stats = build_site(session_factory(engine), out, "https://bench.example/", full=full)
    finally:
        engine.dispose()
    print(f"    of which the search index {stats.search_seconds:.2f} s; " + "; ".join(stats.notes), flush=True)
    return stats.seconds, stats.pages_written, stats.pages_skipped


def stored_digest_seconds(db: Path) -> float:
    """How long each build spends digesting the stored bytes of every version text (reports.data)."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with reading(session_factory(engine)) as session:
            started = perf_counter()
            stored_text_digests(session)
            return perf_counter() - started
    finally:
        engine.dispose()


def copy_database(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        a.backup(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--changes", type=int, default=3, help="sources that change in the nightly run")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="keep the recorded sources in FILE and reuse them when it exists (it is never modified)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="policywatch-render-bench-"))
    try:
        db, out = work / "bench.db", work / "site"
        if args.record is not None and args.record.exists():
            copy_database(args.record, db)
            engine = make_engine(f"sqlite:///{db}")
            upgrade(engine)  # a record kept by an older policywatch: its copy gets this schema
            engine.dispose()
            print(f"  reusing the record in {args.record}", flush=True)
        else:
            seconds = build_record(db, args.sources, args.versions)
            print(f"  recording them with storage.record (not timed below): {seconds:.1f} s", flush=True)
            if args.record is not None:
                copy_database(db, args.record)
        (sources, versions, changes), = sqlite3.connect(db).execute(
            "select count(distinct source_id), max(number), (select count(*) from changes) from versions").fetchall()
        print(f"render_speed: {sources:,} sources × {versions} versions ({changes:,} changes), "
              f"about {SECTIONS * 25} words a version, {os.cpu_count()} core(s)", flush=True)
        seconds, written, _ = timed_build(db, out, full=True)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"  from scratch:                        {seconds:7.2f} s  {written:,} files written "
              f"({files:,} in the site)", flush=True)
        index = (out / "index.html").stat().st_size
        print(f"  index.html: {index / 1024:,.0f} KiB ({index / sources / 1024:.2f} KiB per source)", flush=True)
        seconds, written, skipped = timed_build(db, out, full=False)
        print(f"  rebuild, nothing new:                {seconds:7.2f} s  {written:,} written, {skipped:,} unchanged",
              flush=True)
        print(f"    of which reading every stored text's bytes (damage since the last build): "
              f"{stored_digest_seconds(db):.2f} s", flush=True)
        nightly_run(db, versions, args.changes)
        seconds, written, skipped = timed_build(db, out, full=False)
        print(f"  incremental after a nightly run with {args.changes} new changes "
              f"({sources - args.changes:,} sources unchanged):", flush=True)
        print(f"                                       {seconds:7.2f} s  {written:,} written, {skipped:,} unchanged",
              flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
