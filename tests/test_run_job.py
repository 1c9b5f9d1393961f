"""`policywatch run`, the nightly job: crawl, render, one summary line, exit codes, the run lock."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import NO_NEWS, write_declarations
from policywatch.localserver import Page

GOOD = b"<html><body><main><h1>Policy</h1><p>We keep chats for 30 days.</p></main></body></html>"
CHANGED = b"<html><body><main><h1>Policy</h1><p>We keep chats for 90 days.</p></main></body></html>"


def rows(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_second_run_started_at_the_same_time_exits_with_the_lock_code(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A slow page keeps the first run busy long after the second has started.
    server.routes["/slow"] = Page(GOOD, delay=3.0)
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                              [{"id": "t/slow", "urls": ["/slow"], "select": "main"}])
    db = tmp_path / "policywatch.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update(POLICYWATCH_ALLOW_PRIVATE_ADDRESSES="true", POLICYWATCH_AUTOTHROTTLE="false", POLICYWATCH_NEWS=str(NO_NEWS))
    command = [sys.executable, "-m", "policywatch", "--db", str(db), "--sources", str(decl), "run",
               "--out", str(tmp_path / "site")]
    started = time.monotonic()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
             for _ in range(2)]
    # Each process's exit time is taken when it exits, not when the test gets to it.
    ended: dict[int, float] = {}
    while len(ended) < len(procs) and time.monotonic() - started < 120:
        for proc in procs:
            if proc.pid not in ended and proc.poll() is not None:
                ended[proc.pid] = time.monotonic() - started
        time.sleep(0.02)
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=10)
        results.append((proc.returncode, out, err, proc.pid, ended[proc.pid]))
    assert sorted(code for code, *_ in results) == [0, 3], results
    (_, won_out, _, winner_pid, won_at), = [r for r in results if r[0] == 0]
    (_, lost_out, lost_err, _, lost_at), = [r for r in results if r[0] == 3]
    lock = f"{db}.lock"
    message = re.search(r"another policywatch run holds the lock (\S+) \(pid (\w+)\); not starting", lost_err)
    assert message and message.group(1) == lock, lost_err
    assert message.group(2) in (str(winner_pid), "unknown")
    assert lost_out == "" and "1 source checked" in won_out
    assert won_at - lost_at > 1.0, "the loser exits at once, not after the winner"
    assert server.hits.count("/slow") == 1, "only one run fetched"
    assert rows(db, "select id, status, sources_checked from runs") == [(1, "ok", 1)]
    assert rows(db, "select distinct run_id from fetch_outcomes") == [(1,)]


def test_summary_line_exit_codes_quiet_and_log(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server.routes.update({"/policy": Page(GOOD), "/broken": Page(b"oops", status=500)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/policy", "urls": ["/policy"], "select": "main"},
        {"id": "t/broken", "urls": ["/broken"], "select": "main"},
    ])
    cli = make_cli(decl)
    site = tmp_path / "site"
    log = tmp_path / "run.log"

    first = cli("run", "--out", str(site), "--log", str(log), "--now", "2026-06-01T03:00:00Z", check=False)
    assert first.returncode == 1, first.stderr
    lines = first.stdout.splitlines()
    assert re.fullmatch(r"policywatch run 1: 2 sources checked, 1 new version, 0 changes, 1 failure in \d+ s; "
                        + re.escape(f"report: {site.resolve() / 'index.html'}"), lines[0]), lines[0]
    assert lines[1].startswith("  failed t/broken: http_error: ") and len(lines) == 2
    assert (site / "index.html").is_file() and (site / "feeds/changes.atom").is_file()
    assert all(line.startswith("policywatch: creating database schema") for line in first.stderr.splitlines()), \
        "without --log, the crawler's chatter stays out of cron mail"

    server.routes["/policy"] = Page(CHANGED)
    quiet = cli("run", "--out", str(site), "--quiet", "--log", str(log), "--now", "2026-06-02T03:00:00Z", check=False)
    assert quiet.returncode == 1
    assert quiet.stdout.splitlines() == [quiet.stdout.splitlines()[0]] and \
        quiet.stdout.startswith("failed t/broken: http_error: "), "--quiet prints failures only"
    assert len(list((site / "changes").iterdir())) == 1

    logged = log.read_text(encoding="utf-8").splitlines()
    ours = [line for line in logged if re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[\d+\] ", line)]
    assert sum("run started" in line for line in ours) == 2, "appended, not overwritten"
    assert any("policywatch run 2: 2 sources checked, 1 new version, 1 change, 1 failure" in line for line in ours)
    assert any("[scrapy" in line for line in logged), "the crawler's own log goes to the file too"

    server.routes["/broken"] = Page(GOOD)
    good = cli("run", "--out", str(site), "-q", "--now", "2026-06-03T03:00:00Z", check=False)
    assert (good.returncode, good.stdout, good.stderr) == (0, "", ""), "cron mails nothing when all is well"
    assert Path(f"{cli.db}.lock").is_file()


def test_nothing_fetched_or_bad_configuration_exit_2(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                              [{"id": "t/gone", "urls": ["/gone"], "select": "main"}])
    cli = make_cli(decl)
    nothing = cli("run", "--out", str(tmp_path / "site"), check=False)
    assert nothing.returncode == 2
    assert nothing.stdout.startswith("policywatch run 1: 1 source checked, 0 new versions, 0 changes, 1 failure")
    assert (tmp_path / "site/index.html").is_file(), "the report still shows the failure"

    broken = tmp_path / "broken.yaml"
    broken.write_text("sources:\n  - id: Not An Id\n", encoding="utf-8")
    other = make_cli(broken, db=tmp_path / "other.db")
    bad = other("run", "--out", str(tmp_path / "other-site"), check=False)
    assert bad.returncode == 2 and "policywatch:" in bad.stderr and "Not An Id" in bad.stderr
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "other-site").exists()
