"""Bytes added to the database per source by a nightly crawl in which nothing changed.

Real pages differ on every fetch (build hashes, CSP nonces), so each night
stores a new raw snapshot. This replays N nights of the real OpenAI privacy
policy pages from ../shared/ota-data with fresh random tokens in place of the
page's own hashes and nonces, through the real recording code, into a real
SQLite file, and prints what each night costs.

    python bench/storage_growth.py [--nights 30]
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402
from storage.record import RawPage, start_run, upsert_source  # noqa: E402
from ingest.record import record_text  # noqa: E402

TOKEN = re.compile(rb"[0-9a-f]{16,}|[A-Za-z0-9_-]{20,}={0,2}")



class Source:
    vendor, title, document_type, language, tags = "OpenAI", "bench", "Privacy Policy", "en", []

    def __init__(self, sid: str):
        self.id = sid
        self.urls = [f"https://example.test/{sid}"]


def noisy(body: bytes, rng: random.Random, tokens: list[bytes]) -> bytes:
    for token in tokens:
        fresh = bytes(rng.choice(b"0123456789abcdef") for _ in token)
        body = body.replace(token, fresh)
    return body


def db_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size, free = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size", "freelist_count"))
    return (pages - free) * size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("skipped: ../shared/ota-data not found")
        return 0
    pages = sorted((shared / "ota-data" / "snapshots").rglob("*.html"))
    bodies = [p.read_bytes() for p in pages]
    rng = random.Random(1)
    # The page's own long tokens (hashes, nonces, ids): the ones a build or a request changes.
    token_sets = [sorted(set(TOKEN.findall(b)), key=len)[-40:] for b in bodies]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        factory = session_factory(engine)
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        sources = [Source(f"bench/{i}") for i in range(len(bodies))]
        with transaction(factory) as s:
            for src in sources:
                upsert_source(s, src)
        sizes = []
        seconds = []
        for night in range(args.nights):
            at = t0 + timedelta(days=night)
            start = time.perf_counter()
            with transaction(factory) as s:
                run = start_run(s, "crawl", at)
                for src, body, tokens in zip(sources, bodies, token_sets):
                    record_text(s, run_id=run.id, source_id=src.id, at=at,
                                   pages=[RawPage(src.urls[0], src.urls[0], 200, "text/html", noisy(body, rng, tokens))],
                                   text=f"unchanged text of {src.id}\n")
            seconds.append(time.perf_counter() - start)
            sizes.append(db_bytes(db))
        engine.dispose()
    n = len(bodies)
    avg_page = sum(map(len, bodies)) / n
    steady = (sizes[-1] - sizes[0]) / (args.nights - 1) / n
    print(f"{n} real OpenAI pages (average {avg_page / 1024:.0f} KB), {args.nights} nights, nothing changed in the text")
    print(f"first night: {sizes[0] / n / 1024:.1f} KB per source (keyframes)")
    print(f"each further night: {steady / 1024:.2f} KB per source (budget 5 KB)")
    print(f"recording time per page: {1000 * sum(seconds[1:]) / ((args.nights - 1) * n):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
