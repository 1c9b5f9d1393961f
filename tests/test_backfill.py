"""`policywatch backfill --wayback` against a stand-in Wayback Machine on 127.0.0.1: captures of the same
digest downloaded once, a challenge capture refused by the fetch guard, a redirect capture followed, a 429
waited out, one request a second, and an interrupted back-fill resumed without duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import NO_NEWS, version_texts, write_declarations
from wayback_fake import Capture, FakeWayback

URL = "https://vendor.example/policy"


def page(days: int, extra: str = "") -> bytes:
    return (f"<html><body><main><h1>Policy</h1><p>We keep chats for {days} days, then delete them.</p>"
            f"<p>{extra}Write to us with any question about this policy.</p></main></body></html>").encode()


CHALLENGE = (b"<html><head><title>Just a moment...</title></head><body><script>window._cf_chl_opt={}</script>"
             b"</body></html>")


def captures() -> list[Capture]:
    return [
        Capture("20230101000000", "200", "AAAA", page(30)),
        Capture("20230201000000", "200", "AAAA", page(30)),  # the same bytes: one state of the page
        Capture("20230301000000", "200", "CHAL", CHALLENGE),  # what the archive's crawler was served
        Capture("20230401000000", "301", "REDI", redirect_to=f"/web/20230401000007id_/{URL}/"),
        Capture("20230501000000", "404", "MISS"),  # not the page
        Capture("20230601000000", "200", "AAAA", page(30)),  # back to the first wording
        Capture("20230701000000", "200", "EEEE", page(60, "New section. ")),
    ]


@pytest.fixture
def fake() -> Iterator[FakeWayback]:
    archive = FakeWayback(URL, captures(), extra={f"/web/20230401000007id_/{URL}/": page(90)})
    yield archive
    archive.close()


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def declarations(tmp_path: Path) -> Path:
    return write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "t/policy", "title": "Policy", "urls": [URL], "select": "main"},
        {"id": "t/combined", "title": "Combined", "urls": [URL, URL + "/more"], "select": "main"},
    ])


CLAIM = {"id": "testco/chats-kept-30-days", "vendor": "Testco", "statement": {"en": "Testco keeps chats 30 days."},
         "scope": ["t/policy"], "evidence": {"supports": [{"id": "kept", "expect": {"max_days": 30},
                                                         "en": {"patterns": [r"\bkeep chats for \d+ days\b"]}}]}}
EXPECTED_OUTCOMES = [("2023-01-01 00:00:00.000000", "first", None), ("2023-03-01 00:00:00.000000", "failed", "bot_challenge"),
                     ("2023-04-01 00:00:00.000000", "changed", None), ("2023-06-01 00:00:00.000000", "changed", None),
                     ("2023-07-01 00:00:00.000000", "changed", None)]


def test_backfill_imports_distinct_captures_politely_through_the_guard(make_cli, tmp_path: Path, fake) -> None:  # type: ignore[no-untyped-def]
    cli = make_cli(declarations(tmp_path))
    claims = tmp_path / "claims.yaml"
    claims.write_text(yaml.safe_dump({"claims": [CLAIM]}), encoding="utf-8")
    result = cli("--claims", str(claims), "backfill", "--wayback", "--only", "t/policy", "--dir", str(tmp_path / "wb"),
                 env=fake.env(1.0))
    out = result.stdout
    assert "claims: testco/chats-kept-30-days: supported → weakened (t/policy v2, 2023-04-01T00:00:00Z)" in out, \
        "a back-fill evaluates the claims like every command that records versions"
    assert "t/policy: 7 capture(s) listed, 5 distinct; 4 downloaded, 1 reused; imported: 3 changed, " \
           "1 failed, 1 first" in out, out
    assert "refused by the fetch guard: bot_challenge: Cloudflare challenge page" in out
    assert "HTTP 429 from 127.0.0.1" in out and "waiting 1 s as asked" in out
    assert rows(cli.db, "select at, outcome, failure_kind from fetch_outcomes order by at") == EXPECTED_OUTCOMES
    assert [(number, int("30 days" in t), int("90 days" in t), int("60 days" in t))
            for (_, number), t in version_texts(cli.db).items()] == [(1, 1, 0, 0), (2, 0, 1, 0), (3, 1, 0, 0), (4, 0, 0, 1)]
    assert rows(cli.db, "select kind from changes order by id") == [("substantive",), ("revert",), ("substantive",)]
    (url,) = rows(cli.db, "select url from snapshots s join versions v on v.outcome_id = s.outcome_id where v.number = 2")[0]
    assert url == f"{fake.base}/web/20230401000000id_/{URL}", "a snapshot names the capture it came from"

    replays = fake.replays()
    assert replays == [f"/web/20230101000000id_/{URL}", f"/web/20230301000000id_/{URL}",
                       f"/web/20230401000000id_/{URL}", f"/web/20230401000007id_/{URL}/",
                       f"/web/20230701000000id_/{URL}"], "each distinct capture once; no 404 capture, no duplicate"
    cdx = [path for path, _ in fake.hits if path.startswith("/cdx/")]
    assert len(cdx) == 4 and "resumeKey=3" in cdx[2] and "resumeKey=6" in cdx[3], "the 429'd page is asked again"
    times = [at for _, at in fake.hits]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.95, f"one request a second at most: {gaps}"

    again = cli("backfill", "--wayback", "--only", "t/policy", "--dir", str(tmp_path / "wb"), env=fake.env(0.05))
    assert "imported: nothing new; 5 already recorded" in again.stdout
    assert len(fake.replays()) == 5, "a second back-fill downloads nothing"

    combined = cli("backfill", "--wayback", "--only", "t/combined", "--dir", str(tmp_path / "wb"), env=fake.env(0.05))
    assert "t/combined: skipped: it combines 2 pages" in combined.stdout


def test_an_interrupted_backfill_resumes_without_duplicates(make_cli, tmp_path: Path, fake) -> None:  # type: ignore[no-untyped-def]
    decl = declarations(tmp_path)
    cli = make_cli(decl)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update(fake.env(0.05), POLICYWATCH_NEWS=str(NO_NEWS))
    command = [sys.executable, "-m", "policywatch", "--db", str(cli.db), "--sources", str(decl), "backfill",
               "--wayback", "--only", "t/policy", "--dir", str(tmp_path / "wb")]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def kill_on_redirect(path: str) -> None:
        if path == f"/web/20230401000000id_/{URL}":
            os.kill(process.pid, signal.SIGKILL)

    fake.on_request = kill_on_redirect
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert rows(cli.db, "select count(*) from fetch_outcomes") == [(0,)], "downloads are imported once complete"
    kept = sorted(p.name for p in (tmp_path / "wb" / "t__policy").glob("*.html"))
    assert kept == ["20230101000000-AAAA.html", "20230301000000-CHAL.html"], "no half-written file is left"

    fake.on_request = None
    resumed = cli("backfill", "--wayback", "--only", "t/policy", "--dir", str(tmp_path / "wb"), env=fake.env(0.05))
    assert "2 downloaded, 3 reused" in resumed.stdout, resumed.stdout
    replays = fake.replays()
    assert replays.count(f"/web/20230101000000id_/{URL}") == 1 and replays.count(f"/web/20230301000000id_/{URL}") == 1
    assert rows(cli.db, "select at, outcome, failure_kind from fetch_outcomes order by at") == EXPECTED_OUTCOMES


def test_a_source_already_crawled_is_not_rewritten_backwards(make_cli, tmp_path: Path, fake) -> None:  # type: ignore[no-untyped-def]
    cli = make_cli(declarations(tmp_path))
    manifest = tmp_path / "m.jsonl"
    (tmp_path / "now.html").write_bytes(page(120))
    manifest.write_text('{"source": "t/policy", "at": "2026-01-01T00:00:00Z", "path": "now.html"}\n', encoding="utf-8")
    cli("import", "--manifest", str(manifest))
    result = cli("backfill", "--wayback", "--only", "t/policy", "--dir", str(tmp_path / "wb"), env=fake.env(0.05))
    assert "5 capture(s) are older than what is recorded for t/policy and cannot be put before it" in result.stdout
    assert fake.replays() == [] and rows(cli.db, "select count(*) from versions") == [(1,)]
