"""A history is only ever extended: a fetch dated before a source's record (a clock set back, `crawl --now` in the
past, a file imported dated ahead of the crawl) is not recorded, says why, and leaves the record whole and usable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page

CLAIMS = """claims:
  - id: testco/chats-kept-briefly
    vendor: Testco
    statement: {en: Testco keeps chats for a short time.}
    scope: [t/p]
    evidence:
      supports: [{id: keeps, en: {patterns: ['keep chats for \\d+ days']}}]
"""


def policy(days: int) -> bytes:
    body = "".join(f"<p>Section {j}: we describe our practices in some detail here.</p>" for j in range(30))
    return (f"<html><body><main><h1>Policy</h1><p>We keep chats for {days} days.</p>{body}</main></body>"
            "</html>").encode()


def no_crash(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


def test_a_fetch_dated_before_the_record_is_not_recorded_and_the_record_stays_usable(tmp_path: Path) -> None:
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIMS, encoding="utf-8")
    with LocalServer() as server:
        server.routes["/p"] = Page(policy(30))
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": "t/p", "urls": ["/p"], "select": "main"}])
        cli = CLI(tmp_path / "pw.db", decl, tmp_path)
        cli("--claims", str(claims), "crawl", "--now", "2026-02-01T00:00:00Z")
        # A saved page imported with a time after the next crawl's.
        (tmp_path / "b.html").write_bytes(policy(60))
        (tmp_path / "m.jsonl").write_text(json.dumps({"source": "t/p", "at": "2026-02-03T00:00:00Z",
                                                      "path": "b.html"}) + "\n", encoding="utf-8")
        cli("--claims", str(claims), "import", "--manifest", str(tmp_path / "m.jsonl"))
        for served in (policy(90), policy(60)):  # a new text, then the imported one again (unchanged)
            server.routes["/p"] = Page(served)
            behind = cli("--claims", str(claims), "crawl", "--now", "2026-02-02T00:00:00Z", check=False)
            no_crash(behind)
            assert behind.returncode != 0, behind.stdout
            assert ("  NOT RECORDED t/p: its record already reaches 2026-02-03T00:00:00Z, later than this fetch's "
                    "time (2026-02-02T00:00:00Z): a history is only ever extended (another run recorded it "
                    "meanwhile, a clock set back, or a file imported dated ahead?); a fetch at 2026-02-03T00:00:00Z "
                    "or later records it") in behind.stdout.splitlines(), behind.stdout + behind.stderr
        with sqlite3.connect(cli.db) as conn:
            assert conn.execute("select number, first_seen from versions order by number").fetchall() == [
                (1, "2026-02-01 00:00:00.000000"), (2, "2026-02-03 00:00:00.000000")]
            assert conn.execute("select count(*) from fetch_outcomes where at like '2026-02-02%'").fetchone() == (0,)
            assert conn.execute("select status from runs order by id desc limit 2").fetchall() == [("failed",)] * 2
        evaluated = cli("--claims", str(claims), "claims", "evaluate", check=False)
        no_crash(evaluated)
        assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
        # The next fetch after the record is recorded as any other.
        server.routes["/p"] = Page(policy(90))
        cli("--claims", str(claims), "crawl", "--now", "2026-02-04T00:00:00Z")
        with sqlite3.connect(cli.db) as conn:
            assert conn.execute("select max(number) from versions").fetchone() == (3,)
        checked = cli("check", check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # A record made before fetches were refused so (v3 dated before v2) is named by `check`, and claims
        # evaluated over it are one line saying why, not a crash.
        with sqlite3.connect(cli.db) as conn:
            conn.execute("update versions set first_seen = '2026-02-02 00:00:00.000000' where number = 3")
        checked = cli("check", check=False)
        assert checked.returncode == 1
        assert ("PROBLEM: t/p v3: first seen at 2026-02-02T00:00:00Z, before v2 (2026-02-03T00:00:00Z): a fetch was "
                "recorded with a time earlier than the record's") in checked.stdout.splitlines(), checked.stdout
        full = cli("--claims", str(claims), "claims", "evaluate", "--full", check=False)
        no_crash(full)
        # One error of the claim reading the source, the version left out; every other claim and source as ever.
        assert full.returncode == 1, full.stdout + full.stderr
        assert ("claims: testco/chats-kept-briefly: not evaluated on t/p v2: t/p: v2 (first seen "
                "2026-02-03T00:00:00Z) comes after v3 (first seen 2026-02-02T00:00:00Z): the record's "
                "versions of this source are not in time order (`policywatch check` names them)"
                ) in full.stdout.splitlines(), full.stdout
        crawled = cli("--claims", str(claims), "crawl", "--now", "2026-02-05T00:00:00Z", check=False)
        no_crash(crawled)
        assert crawled.returncode == 0 and "run 6 (ok): 1 source(s) checked" in crawled.stdout, crawled.stdout


# A crawl that records a source while another command works on it: each race made to happen, by letting the
# command read the record as it stood before the crawl.

T1, T2, T3 = (datetime(2026, 1, d, tzinfo=timezone.utc) for d in (1, 2, 3))


@pytest.fixture
def recorded(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A record of one source whose latest outcome is at T3, and what it is read with."""
    from ingest.declarations import load_sources
    from ingest.importer import import_manifest
    from storage.db import make_engine, session_factory, upgrade

    decl = write_declarations(tmp_path / "sources.yaml", "http://127.0.0.1:9",
                              [{"id": "t/a", "urls": ["http://127.0.0.1:9/a"], "select": "main"}])
    sources = load_sources(decl)
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    for name, days in (("a", 30), ("b", 60)):
        (tmp_path / f"{name}.html").write_bytes(policy(days))
    (tmp_path / "first.jsonl").write_text(json.dumps({"source": "t/a", "at": "2026-01-03T00:00:00Z",
                                                      "path": "a.html"}) + "\n", encoding="utf-8")
    import_manifest(factory, tmp_path / "first.jsonl", sources)
    yield SimpleNamespace(factory=factory, sources=sources, folder=tmp_path, db=tmp_path / "pw.db")
    engine.dispose()


def _versions(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select number, first_seen from versions order by number").fetchall()


def test_an_import_that_a_crawl_overtook_says_so_and_imports_nothing_behind_it(recorded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ingest.importer as importer

    before = _versions(recorded.db)
    (recorded.folder / "late.jsonl").write_text(json.dumps({"source": "t/a", "at": "2026-01-02T00:00:00Z",
                                                            "path": "b.html"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(importer, "latest_record_time", lambda session, source_id: None)  # checked before T3
    report = importer.import_manifest(recorded.factory, recorded.folder / "late.jsonl", recorded.sources)
    assert report.not_applied == [
        "t/a: not imported from 2026-01-02T00:00:00Z on: its record already reaches 2026-01-03T00:00:00Z, later than "
        "this fetch's time (2026-01-02T00:00:00Z): a history is only ever extended (another run recorded it "
        "meanwhile, a clock set back, or a file imported dated ahead?); a fetch at 2026-01-03T00:00:00Z or later "
        "records it"]
    assert _versions(recorded.db) == before


def test_a_reextract_that_a_crawl_overtook_derives_nothing_behind_it(recorded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ingest.reextract as reextract

    before = _versions(recorded.db)
    monkeypatch.setattr(reextract, "check_order", lambda factory, sources, at: None)  # checked before T3
    (result,) = reextract.reextract(recorded.factory, list(recorded.sources.values()), T2)
    assert result.failure is not None and result.failure.detail == (
        "not re-derived: t/a already has a record at 2026-01-03T00:00:00Z, later than 2026-01-02T00:00:00Z: a "
        "re-derived version is dated when it is made, after everything the source holds")
    assert _versions(recorded.db) == before


def test_a_distributed_night_lists_a_source_its_record_reaches_past(recorded) -> None:  # type: ignore[no-untyped-def]
    from crawler.night import _close
    from storage.db import transaction
    from storage.record import start_run

    with transaction(recorded.factory) as session:
        run_id = start_run(session, "crawl", T2).id
    unrecorded = _close(SimpleNamespace(factory=recorded.factory), run_id, recorded.sources, T2)  # type: ignore[arg-type]
    assert [(sid, why.split(":")[0]) for sid, why in unrecorded] == [
        ("t/a", "its record already reaches 2026-01-03T00")]
    with sqlite3.connect(recorded.db) as conn:
        assert conn.execute("select count(*) from fetch_outcomes where run_id = ?", (run_id,)).fetchone() == (0,)
