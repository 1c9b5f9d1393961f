"""A history is only ever extended: a fetch dated before a source's record (a clock set back, `crawl --now` in the
past, a file imported dated ahead of the crawl) is not recorded, says why, and leaves the record whole and usable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

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
                    "time (2026-02-02T00:00:00Z): a history is only ever extended (a clock set back, or a file "
                    "imported dated ahead?); a fetch after 2026-02-03T00:00:00Z records it") in behind.stdout.splitlines(), \
                behind.stdout + behind.stderr
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
        assert full.returncode == 2 and full.stderr.startswith("policywatch: t/p: version "), full.stderr
        assert full.stderr.rstrip().endswith("the record's versions of this source are not in time order "
                                             "(`policywatch check` names them)"), full.stderr
