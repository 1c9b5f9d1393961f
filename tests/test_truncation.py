"""Responses cut short, streams that never end and redirects out of http(s), served on purpose by a local server.

Night 1 serves every page whole; night 2 serves each one broken in its own
way; night 3 still cuts one short. A broken response must be a failed fetch
of the right kind, never a version, and nothing may be announced; a source
cut short two nights running is announced as failing in the health feed.
"""

from __future__ import annotations

import gzip
import itertools
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Iterator

import brotli
import feedparser
import pytest
import zstandard

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page

POLICY = "".join(f"<h2>Section {i}</h2><p>We keep the messages you send for {i + 10} days and then delete them; "
                 f"clause {i} says who may read them, and why.</p>" for i in range(300))
HTML = f"<!DOCTYPE html><html><head><title>Policy</title></head><body><main>{POLICY}</main></body></html>".encode()


def cut(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def slow_drip() -> Iterator[bytes]:
    for byte in HTML[:50]:
        time.sleep(0.4)
        yield bytes([byte])


def endless() -> Iterator[bytes]:
    return itertools.repeat(b"<p>" + b"more " * 2000 + b"</p>")


GZ, DEFLATE = gzip.compress(HTML), zlib.compress(HTML)
BR, ZSTD = brotli.compress(HTML), zstandard.ZstdCompressor().compress(HTML)

# source id → (what night 2 serves, the failure kind it must be recorded as)
BROKEN: dict[str, tuple[Page, str]] = {
    "t/gzip-80": (Page(cut(GZ, 0.8), headers={"Content-Encoding": "gzip"}), "truncated"),
    "t/gzip-95": (Page(cut(GZ, 0.95), headers={"Content-Encoding": "gzip"}), "truncated"),
    "t/deflate-80": (Page(cut(DEFLATE, 0.8), headers={"Content-Encoding": "deflate"}), "truncated"),
    "t/br-90": (Page(cut(BR, 0.9), headers={"Content-Encoding": "br"}), "truncated"),
    "t/zstd-90": (Page(cut(ZSTD, 0.9), headers={"Content-Encoding": "zstd"}), "truncated"),
    # The whole compressed body announced, 80 % of it sent.
    "t/gzip-short": (Page(GZ, headers={"Content-Encoding": "gzip"}, truncate_to=int(len(GZ) * 0.8)), "truncated"),
    "t/plain-short": (Page(HTML, truncate_to=int(len(HTML) * 0.8)), "truncated"),
    # Chunked gzip: the stream stops early, with and without the final empty chunk.
    "t/chunked-cut": (Page(cut(GZ, 0.8), headers={"Content-Encoding": "gzip"}, chunked=True, chunk_size=4096),
                      "truncated"),
    "t/chunked-open": (Page(cut(GZ, 0.8), headers={"Content-Encoding": "gzip"}, chunked=True, chunk_size=4096,
                            finish=False), "truncated"),
    "t/partial": (Page(cut(HTML, 0.6), status=206, headers={"Content-Range": f"bytes 0-{int(len(HTML) * 0.6) - 1}/"
                                                                          f"{len(HTML)}"}), "truncated"),
    "t/drip": (Page(b"", stream=slow_drip), "timeout"),
    "t/endless": (Page(b"", stream=endless), "oversize"),
    "t/to-file": (Page(b"", 302, headers={"Location": "file:///etc/passwd"}), "forbidden_url"),
    "t/to-data": (Page(b"", 302, headers={"Location": "data:text/html,<main>We sell everything.</main>"}),
                  "forbidden_url"),
    "t/to-ftp": (Page(b"", 301, headers={"Location": "ftp://127.0.0.1/policy.html"}), "forbidden_url"),
}
WHOLE = {
    "t/gzip-whole": Page(GZ, headers={"Content-Encoding": "gzip"}),
    "t/chunked-whole": Page(GZ, headers={"Content-Encoding": "gzip"}, chunked=True, chunk_size=4096),
    "t/br-whole": Page(BR, headers={"Content-Encoding": "br"}),
}


def outcomes(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select source_id, outcome, failure_kind from fetch_outcomes order by run_id, id")
        found: dict[str, list[str]] = {}
        for sid, outcome, kind in rows:
            found.setdefault(sid, []).append(kind if outcome == "failed" else outcome)
    return found


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("truncation")
    with LocalServer() as server:
        ids = [*BROKEN, *WHOLE]
        decl = write_declarations(tmp / "sources.yaml", server.base_url,
                                  [{"id": sid, "urls": [f"/{sid}"], "select": "main"} for sid in ids])
        cli = CLI(tmp / "t.db", decl, tmp)
        env = {"POLICYWATCH_DOWNLOAD_TIMEOUT": "3", "POLICYWATCH_DOWNLOAD_MAXSIZE": "400000",
               "POLICYWATCH_RETRY_TIMES": "1"}
        server.routes.update({f"/{sid}": Page(HTML) for sid in ids})
        first = cli("crawl", "--now", "2026-05-01T00:00:00Z", env=env)
        server.routes.update({f"/{sid}": page for sid, (page, _) in BROKEN.items()})
        server.routes.update({f"/{sid}": page for sid, page in WHOLE.items()})
        second = cli("crawl", "--now", "2026-05-02T00:00:00Z", check=False, env=env)
        server.routes.update({f"/{sid}": Page(HTML) for sid in ids if sid != "t/gzip-80"})
        cli("crawl", "--now", "2026-05-03T00:00:00Z", check=False, env=env)
        site = tmp / "site"
        cli("report", "--out", str(site))
        yield cli, first, second, site


def test_a_response_cut_short_is_a_failed_fetch_of_its_kind(two_nights) -> None:  # type: ignore[no-untyped-def]
    cli, first, second, _ = two_nights
    assert second.returncode == 1, second.stdout + second.stderr
    recorded = outcomes(cli.db)
    assert {sid: kinds[1] for sid, kinds in recorded.items() if sid in BROKEN} == \
        {sid: kind for sid, (_, kind) in BROKEN.items()}
    assert {sid: kinds for sid, kinds in recorded.items() if sid in WHOLE} == \
        {sid: ["first", "unchanged", "unchanged"] for sid in WHOLE}
    assert {sid: kinds[2] for sid, kinds in recorded.items() if sid in BROKEN} == \
        {sid: "truncated" if sid == "t/gzip-80" else "unchanged" for sid in BROKEN}
    assert "failed t/gzip-80: truncated:" in second.stdout and "stream ends before its end" in second.stdout
    assert "failed t/partial: truncated: HTTP 206 Partial Content" in second.stdout


def test_no_version_and_nothing_announced(two_nights) -> None:  # type: ignore[no-untyped-def]
    cli, _, _, site = two_nights
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("select count(*) from changes").fetchone()[0] == 0
        assert conn.execute("select count(*), count(distinct source_id) from versions").fetchone() == \
            (len(BROKEN) + len(WHOLE),) * 2
    for name in ("changes.atom", "flagged.atom"):
        assert feedparser.parse((site / "feeds" / name).read_bytes()).entries == []


def test_the_truncated_kind_shows_in_history_and_on_the_runs_page(two_nights) -> None:  # type: ignore[no-untyped-def]
    cli, _, _, site = two_nights
    history = cli("history", "t/chunked-open").stdout
    assert "truncated" in history and "the connection closed after" in history
    runs = (site / "runs.html").read_text(encoding="utf-8")
    assert "truncated" in runs and "the response was cut short" in runs
    health = feedparser.parse((site / "feeds" / "health.atom").read_bytes())
    assert [e.title for e in health.entries if "t/gzip-80" in e.title] == \
        ["Testco — t/gzip-80: failing since 2026-05-02 00:00 UTC (truncated)"]
    # What arrived is kept as the evidence of the refusal, decoded.
    with sqlite3.connect(cli.db) as conn:
        kept = conn.execute("select count(*) from snapshots s join fetch_outcomes o on o.id = s.outcome_id "
                            "where o.failure_kind = 'truncated'").fetchone()[0]
    assert kept >= 8
