"""Real crawls (the CLI and `scrapy crawl`) of a real HTTP server on 127.0.0.1 into a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write_declarations
from policywatch.localserver import Page

POLICY_V1 = b"<html><body><nav>Menu</nav><main><h1>Policy</h1><p>We keep chats for 30 days.</p></main></body></html>"
POLICY_V1_NOISY = b"<html><head><script>build='f00d'</script></head><body><nav>Menu 2</nav><main class='x'><h1>Policy</h1><p>We keep chats for  30 days.</p></main></body></html>"
POLICY_V2 = b"<html><body><nav>Menu</nav><main><h1>Policy</h1><p>We keep chats for 90 days.</p></main></body></html>"


def counts(db: Path) -> dict[str, int]:
    """Rows per table; `snapshots` counts the pages that became or confirmed versions, `refused_snapshots`
    the pages kept with a failed fetch."""
    with sqlite3.connect(db) as conn:
        found = {t: conn.execute(f"select count(*) from {t}").fetchone()[0]
                 for t in ("versions", "changes", "fetch_outcomes", "runs")}
        for name, test in (("snapshots", "!="), ("refused_snapshots", "=")):
            found[name] = conn.execute(f"select count(*) from snapshots s join fetch_outcomes o on o.id = s.outcome_id "
                                       f"where o.outcome {test} 'failed'").fetchone()[0]
        return found


def outcomes(db: Path, source: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select outcome, failure_kind from fetch_outcomes where source_id=? order by id",
                            (source,)).fetchall()


def test_crawl_records_versions_changes_and_failures(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/policy", "urls": ["/policy"], "select": "main"},
        {"id": "t/missing", "urls": ["/missing"], "select": "main"},
        {"id": "t/broken", "urls": ["/broken"], "select": "main"},
        {"id": "t/empty", "urls": ["/empty"], "select": "main"},
        {"id": "t/nomain", "urls": ["/nomain"], "select": "main"},
    ])
    cli = make_cli(decl)
    server.routes.update({
        "/policy": Page(POLICY_V1),
        "/broken": Page(b"oops", status=500),
        "/empty": Page(b""),
        "/nomain": Page(b"<html><body><div>No main element here.</div></body></html>"),
    })
    first = cli("crawl", "--now", "2026-02-01T00:00:00Z", check=False)
    assert first.returncode == 1, first.stderr
    assert counts(cli.db)["versions"] == 1
    assert outcomes(cli.db, "t/missing") == [("failed", "http_error")]
    assert outcomes(cli.db, "t/broken") == [("failed", "http_error")]
    assert outcomes(cli.db, "t/empty") == [("failed", "empty")]
    assert outcomes(cli.db, "t/nomain") == [("failed", "selector_miss")]
    assert "failed t/nomain: selector_miss" in first.stdout
    assert server.hits.count("/broken") > 1, "a 500 is retried"

    server.routes["/policy"] = Page(POLICY_V1_NOISY)
    cli("crawl", "--only", "t/policy", "--now", "2026-02-02T00:00:00Z")
    assert counts(cli.db)["versions"] == 1
    history = cli.json("history", "t/policy")
    assert history["versions"][0]["last_confirmed"] == "2026-02-02T00:00:00Z"
    assert [o["outcome"] for o in history["outcomes"]] == ["first", "unchanged"]

    server.routes["/policy"] = Page(POLICY_V2)
    cli("crawl", "--only", "t/policy", "--now", "2026-02-03T00:00:00Z")
    c = counts(cli.db)
    assert (c["versions"], c["changes"], c["snapshots"]) == (2, 1, 3)
    changes = cli.json("changes")
    assert [(ch["source"], ch["words_added"], ch["words_removed"]) for ch in changes] == [("t/policy", 1, 1)]
    diff = cli("diff", "t/policy").stdout
    assert "[-30-]" in diff and "{+90+}" in diff
    assert cli("show", "t/policy", "--version", "1").stdout == "# Policy\n\nWe keep chats for 30 days.\n"


def test_combined_document_and_robots(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/combined", "urls": ["/part-1", "/part-2"], "select": "main"},
        {"id": "t/private", "urls": ["/private/page"], "select": "main"},
    ])
    server.routes.update({
        "/part-1": Page(b"<main><p>Part one.</p></main>"),
        "/part-2": Page(b"<main><p>Part two.</p></main>"),
        "/private/page": Page(b"<main><p>Secret.</p></main>"),
        "/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
    })
    cli = make_cli(decl)
    cli("crawl", check=False)
    assert cli("show", "t/combined").stdout == "Part one.\n\n- - -\n\nPart two.\n"
    assert outcomes(cli.db, "t/private") == [("failed", "robots")]
    assert "/private/page" not in server.hits
    version = cli.json("show", "t/combined")
    assert [s["url"] for s in version["snapshots"]] == [server.base_url + "/part-1", server.base_url + "/part-2"]


def test_scrapy_list_and_scrapy_crawl_work_from_the_project(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                              [{"id": "t/policy", "urls": ["/policy"], "select": "main"}])
    server.routes["/policy"] = Page(POLICY_V1)
    db = tmp_path / "scrapy.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")},
           "POLICYWATCH_DB": str(db), "POLICYWATCH_SOURCES": str(decl), "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "1"}
    scrapy = [sys.executable, "-m", "scrapy"]
    listed = subprocess.run([*scrapy, "list"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["news", "policies"]
    subprocess.run([*scrapy, "crawl", "policies"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert counts(db)["versions"] == 1
    assert "/policy" in server.hits



MODULES_AFTER = """
import json, sys
from policywatch.cli import main
status = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "modules": sorted(sys.modules)}, out)
"""


def probed_crawl(server, tmp_path: Path, probe: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """`policywatch crawl` of one page run by a `probe` script, which writes what it found as JSON."""
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/policy", "urls": ["/policy"], "select": "main"}])
    server.routes["/policy"] = Page(POLICY_V1)
    found = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update({"POLICYWATCH_AUTOTHROTTLE": "false", "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true"})
    subprocess.run([sys.executable, "-c", probe, str(found), "--db", str(tmp_path / "p.db"), "--sources",
                    str(decl), "crawl", "--now", "2026-02-01T00:00:00Z"], env=env, cwd=tmp_path, check=True,
                   timeout=120, capture_output=True)
    return json.loads(found.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_a_crawl_that_needs_no_browser_never_imports_playwright(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from crawler.browser import browser_available

    if browser_available() is not None:
        import pytest

        pytest.skip(f"the browser fetch is not set up, so its handler is not either: {browser_available()}")
    probe = probed_crawl(server, tmp_path, MODULES_AFTER)
    assert probe["status"] == 0 and counts(tmp_path / "p.db")["versions"] == 1
    assert "crawler.browser_handler" in probe["modules"]  # the http(s) handler served the fetch …
    assert [m for m in probe["modules"] if "playwright" in m] == []  # … without importing Playwright


LOADS_DURING = """
import json, sys
import ingest.claims_declarations as claims_declarations
import ingest.declarations as declarations
calls = {"load_sources": 0, "load_claims": 0}
def counted(name, real):
    def call(*args, **kwargs):
        calls[name] += 1
        return real(*args, **kwargs)
    return call
declarations.load_sources = counted("load_sources", declarations.load_sources)
claims_declarations.load_claims = counted("load_claims", claims_declarations.load_claims)
from policywatch.cli import main
status = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, **calls}, out)
"""


def test_a_crawl_reads_the_declarations_and_compiles_the_claims_once(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The command loads both before the crawl starts (their errors stop it first) and hands them to the spider and
    # the storage pipeline, which under `scrapy crawl` would read them themselves.
    probe = probed_crawl(server, tmp_path, LOADS_DURING)
    assert probe == {"status": 0, "load_sources": 1, "load_claims": 1}
    with sqlite3.connect(tmp_path / "p.db") as conn:
        # The run's claims were evaluated with the handed plan: the bundled claims are declared in the record.
        assert conn.execute("select count(*) from claim_declarations").fetchone()[0] > 0
    assert counts(tmp_path / "p.db")["versions"] == 1
