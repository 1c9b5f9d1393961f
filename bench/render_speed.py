"""How long the report takes to render: from scratch, and after a nightly run with 3 changes.

The record is built with storage.record in a temporary SQLite file: 1,000
sources × 30 versions by default, each version a short policy (about 300
words) that differs from the one before in one sentence. The nightly run
that follows checks every source again and finds 3 of them changed, as a
real night would.

    .venv/bin/python bench/render_speed.py [--sources N] [--versions N]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.site import build_site  # noqa: E402
from storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from storage.record import RawPage, finish_run, record_success, start_run, upsert_source  # noqa: E402

DAY0 = datetime(2025, 1, 1, 3, 0, tzinfo=timezone.utc)
WORDS = ("data personal we you your account content retain delete days service provide share partners train "
         "models improve safety law request access export settings controls privacy security store process").split()


class Declared:
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
    return [f"## Section {s}\n\n" + " ".join(sentence(rng) for _ in range(2)) for s in range(1, 13)]


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


def build_record(db: Path, sources: int, versions: int) -> tuple[float, dict[str, list[str]], list[Declared]]:
    started = perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    factory = session_factory(engine)
    rng = random.Random(20260101)
    declared = [Declared(n) for n in range(sources)]
    texts = {s.id: first_text(rng) for s in declared}
    for day in range(versions):
        at = DAY0 + timedelta(days=day)
        with transaction(factory) as session:
            run_id = start_run(session, "crawl", at).id
        # One transaction per source, as the crawler's pipeline records them.
        for source in declared:
            with transaction(factory) as session:
                if day == 0:
                    upsert_source(session, source)
                else:
                    texts[source.id] = edit(texts[source.id], rng)
                text = render(texts[source.id])
                record_success(session, run_id=run_id, source_id=source.id, at=at, pages=[page(source, text)],
                               text=text)
        with transaction(factory) as session:
            finish_run(session, run_id, at)
    engine.dispose()
    return perf_counter() - started, texts, declared


def nightly_run(db: Path, texts: dict[str, list[str]], declared: list[Declared], day: int, changed: int) -> None:
    engine = make_engine(f"sqlite:///{db}")
    rng = random.Random(day)
    at = DAY0 + timedelta(days=day)
    factory = session_factory(engine)
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", at).id
    for index, source in enumerate(declared):
        if index < changed:
            texts[source.id] = edit(texts[source.id], rng)
        text = render(texts[source.id])
        with transaction(factory) as session:
            record_success(session, run_id=run_id, source_id=source.id, at=at, pages=[page(source, text)], text=text)
    with transaction(factory) as session:
        finish_run(session, run_id, at)
    engine.dispose()


def timed_build(db: Path, out: Path, full: bool) -> tuple[float, int, int]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        stats = build_site(session_factory(engine), out, "https://bench.example/", full=full)
    finally:
        engine.dispose()
    return stats.seconds, stats.pages_written, stats.pages_skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--changes", type=int, default=3, help="sources that change in the nightly run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="policywatch-render-bench-"))
    try:
        db, out = work / "bench.db", work / "site"
        print(f"render_speed: {args.sources:,} sources × {args.versions} versions "
              f"({args.sources * (args.versions - 1):,} changes), about 300 words a version", flush=True)
        seconds, texts, declared = build_record(db, args.sources, args.versions)
        print(f"  building the record with storage.record (not part of the figures): {seconds:.1f} s", flush=True)
        seconds, written, _ = timed_build(db, out, full=True)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"  from scratch:                        {seconds:7.2f} s  {written:,} files written "
              f"({files:,} in the site)", flush=True)
        seconds, written, skipped = timed_build(db, out, full=False)
        print(f"  rebuild, nothing new:                {seconds:7.2f} s  {written:,} written, {skipped:,} unchanged",
              flush=True)
        nightly_run(db, texts, declared, args.versions, args.changes)
        seconds, written, skipped = timed_build(db, out, full=False)
        print(f"  incremental after a nightly run with {args.changes} new changes "
              f"({args.sources - args.changes:,} sources unchanged):", flush=True)
        print(f"                                       {seconds:7.2f} s  {written:,} written, {skipped:,} unchanged",
              flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
