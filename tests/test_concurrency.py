"""Commands that meet, and commands that die: each waits or refuses with one clear line, none crashes,
nothing is half-read, and the record stays whole.

Crawls and imports run as real subprocesses against a real SQLite file, with
pages from a local server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from conftest import CLI, NO_NEWS, hold_write_lock, write_declarations
from policywatch.localserver import LocalServer, Page


def page(i: int, edition: int = 1) -> Page:
    body = "".join(f"<p>Section {j} of policy {i}, edition {edition}: we keep records for {j + 10} days.</p>"
                   for j in range(60))
    return Page(f"<html><body><main><h1>Policy {i}</h1>{body}</main></body></html>".encode())


def rows(db: Path, query: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(query).fetchall()


def environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update({"POLICYWATCH_AUTOTHROTTLE": "false", "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "POLICYWATCH_BACKOFF_BASE": "0.05"})
    env.update(extra)
    return env


def command(db: Path, decl: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "policywatch", "--db", str(db), "--sources", str(decl), *args]


def no_crash(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode in (0, 1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    with LocalServer() as server:
        for i in range(12):
            server.routes[f"/p/{i}"] = page(i)
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": f"t/p{i:02d}", "urls": [f"/p/{i}"], "select": "main"} for i in range(12)])
        yield server, decl


def test_three_crawls_create_a_new_database_at_once(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, decl = served
    db = tmp_path / "fresh.db"
    shares = [[f"t/p{i:02d}" for i in range(k, 12, 3)] for k in range(3)]
    processes = [subprocess.Popen(command(db, decl, "crawl", "--only", *ids), env=environ(), cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ids in shares]
    for process in processes:
        out, err = process.communicate(timeout=120)
        no_crash(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        assert process.returncode == 0, out + err
    assert rows(db, "select count(distinct source_id) from versions") == [(12,)]
    assert rows(db, "select count(*), min(status), max(status) from runs") == [(3, "ok", "ok")]


def test_a_crawl_waits_for_a_writer_then_refuses_in_one_line(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, decl = served
    cli = CLI(tmp_path / "locked.db", decl, tmp_path)
    cli("crawl", "--only", "t/p00")
    # A writer that finishes within lock_timeout is waited for, and the wait is said when it begins: the other
    # writer lets go once the crawl has said it waits.
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(cli.db, 60.0, started, release))
    holder.start()
    started.wait()
    waiting = subprocess.Popen(command(cli.db, decl, "--news", str(NO_NEWS), "crawl", "--only",
                                       "t/p01"), cwd=tmp_path, env=environ(POLICYWATCH_LOCK_TIMEOUT="60"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert waiting.stderr is not None
        said = waiting.stderr.readline()
    finally:
        release.set()
        holder.join()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out + said + err
    assert said.rstrip("\n").endswith(f"{cli.db}: another writer holds its write lock; waiting up to 59 s more for "
                                      "it to finish (lock_timeout)"), said + err
    assert "another writer" not in err, err
    # One that holds the database longer is refused, before anything is fetched.
    started.clear()
    release = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(cli.db, 300.0, started, release))
    holder.start()
    started.wait()
    hits = len(server.hits)
    try:
        refused = cli("crawl", "--only", "t/p02", check=False, env={"POLICYWATCH_LOCK_TIMEOUT": "1"})
    finally:
        release.set()
        holder.join()
    no_crash(refused)
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if line.startswith("policywatch:")]
    assert lines == [f"policywatch: nothing was crawled: the database {cli.db} is locked: another policywatch "
                     "command has been writing to it for more than 1 s (lock_timeout); try again when it has "
                     "finished"], refused.stderr
    assert "run_id" not in refused.stderr
    assert not [h for h in server.hits[hits:] if h.startswith("/p/")]
    assert rows(cli.db, "select count(*) from runs where status = 'running'") == [(0,)]


WORDS = ("account", "backup", "consent", "delete", "export", "file", "guardian", "history", "image", "journal",
         "key", "log", "memory", "notice", "opt-out", "partner", "query", "request", "storage", "transfer")


def _manifest(tmp: Path, count: int, start: datetime) -> Path:
    """A history of `count` snapshots of t/p00, each a small edit of the one before (prose, not a table:
    analysing a change stays cheap)."""
    lines = []
    for n in range(count):
        text = "".join(f"{WORDS[j % 20].title()} {j}: we keep the {WORDS[(j * 7) % 20]} and the "
                       f"{WORDS[(j * 3 + 1) % 20]} for {j + 10 + (n if j == n % 50 else 0)} days.\n\n"
                       for j in range(50))
        (tmp / f"e{n:03d}.md").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"source": "t/p00", "at": (start + timedelta(days=n)).isoformat(),
                                 "path": f"e{n:03d}.md"}))
    manifest = tmp / "archive.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def _wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _imported(db: Path) -> int:
    try:
        return rows(db, "select count(*) from fetch_outcomes o join runs r on r.id = o.run_id "
                        "where r.kind = 'import'")[0][0]
    except sqlite3.OperationalError:
        return 0


def test_an_import_and_a_crawl_of_the_same_source_neither_lose_nor_reorder(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, decl = served
    db = tmp_path / "both.db"
    manifest = _manifest(tmp_path, 80, datetime(2025, 1, 1, tzinfo=timezone.utc))
    importing = subprocess.Popen(command(db, decl, "import", "--manifest", str(manifest)), env=environ(),
                                 cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _imported(db) >= 3)
    crawl = subprocess.run(command(db, decl, "crawl", "--only", "t/p00"), env=environ(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=180)
    out, err = importing.communicate(timeout=180)
    no_crash(crawl)
    assert importing.returncode == 0, out + err
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    outcomes = rows(db, "select o.id, o.at, r.kind from fetch_outcomes o join runs r on r.id = o.run_id "
                        "where o.source_id = 't/p00' order by o.id")
    assert [kind for _, _, kind in outcomes] == ["import"] * 80 + ["crawl"], "the crawl recorded after the import"
    assert [at for _, at, _ in outcomes] == sorted(at for _, at, _ in outcomes)
    versions = rows(db, "select number, first_seen from versions where source_id = 't/p00' order by number")
    assert len(versions) == 81 and [f for _, f in versions] == sorted(f for _, f in versions)


def test_a_crawl_waits_while_an_import_holds_its_source(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The import is played by this test: it holds t/p00 as an import does, and records an entry before letting
    go. The crawl must wait, then record after that entry."""
    server, decl = served
    cli = CLI(tmp_path / "held.db", decl, tmp_path)
    cli("crawl", "--only", "t/p00", "--now", "2026-01-01T00:00:00Z")
    with sqlite3.connect(cli.db, timeout=30) as conn:
        run = conn.execute("insert into runs (kind, status, started_at, pid, host, sources_checked, new_versions, "
                           "changes, failures) values ('import', 'running', '2026-01-02 00:00:00', ?, ?, 0, 0, 0, 0)",
                           (os.getpid(), socket.gethostname())).lastrowid
        conn.execute("insert into source_locks values ('t/p00', ?, ?, ?, '2026-01-02 00:00:00')",
                     (run, os.getpid(), socket.gethostname()))
    start = len(server.hits)
    crawl = subprocess.Popen(command(cli.db, decl, "crawl", "--only", "t/p00"), env=environ(), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: "/p/0" in server.hits[start:])
    time.sleep(1.5)
    assert crawl.poll() is None, "the crawl did not wait"
    assert rows(cli.db, "select count(*) from fetch_outcomes") == [(1,)]
    with sqlite3.connect(cli.db, timeout=30) as conn:
        conn.execute("insert into fetch_outcomes (run_id, source_id, at, outcome, failure_kind, detail) values "
                     "(?, 't/p00', '2026-01-02 00:00:00', 'failed', 'empty', 'an imported entry')", (run,))
        conn.execute("delete from source_locks")
        conn.execute("update runs set status = 'ok', finished_at = started_at where id = ?", (run,))
    out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, out + err
    assert f"t/p00: waiting: t/p00 is being written by run {run}" in err
    assert [kind for (kind,) in rows(cli.db, "select coalesce(failure_kind, outcome) from fetch_outcomes "
                                             "order by id")] == ["first", "empty", "unchanged"]


def test_a_killed_import_is_marked_aborted_by_the_next_command(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, decl = served
    db = tmp_path / "killed.db"
    manifest = _manifest(tmp_path, 40, datetime(2025, 1, 1, tzinfo=timezone.utc))
    process = subprocess.Popen(command(db, decl, "import", "--manifest", str(manifest)), env=environ(),
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: _imported(db) >= 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert rows(db, "select status from runs") == [("running",)]
    first = tmp_path / "first.jsonl"
    first.write_text(manifest.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    again = subprocess.run(command(db, decl, "import", "--manifest", str(first)), env=environ(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing new" in again.stdout, again.stdout + again.stderr
    assert rows(db, "select status, finished_at is not null from runs") == [("aborted", 1)]
    assert rows(db, "select count(*) from source_locks") == [(0,)]
    resumed = subprocess.run(command(db, decl, "import", "--manifest", str(manifest)), env=environ(),
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert rows(db, "select count(*) from fetch_outcomes") == [(40,)]


def test_a_report_reads_one_consistent_state_while_a_crawl_writes(tmp_path: Path) -> None:
    from ingest.record import record_text
    from reports.data import _changes, _versions
    from storage.db import make_engine, reading, session_factory, transaction, upgrade
    from storage.record import start_run, upsert_source
    from storage.models import SourceFields

    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    source = SourceFields(id="t/a", vendor="T", title="A", document_type="P", language="en", urls=("http://x/",))
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with transaction(factory) as session:
        upsert_source(session, source)
        run = start_run(session, "crawl", at).id
        record_text(session, run_id=run, source_id="t/a", at=at, pages=[], text="We keep chats for 30 days.")
    writer = session_factory(make_engine(f"sqlite:///{tmp_path / 'r.db'}"))
    with reading(factory) as session:
        versions = _versions(session)
        # A crawl records a new version and its change between the report's two reads.
        with transaction(writer) as other:
            record_text(other, run_id=run, source_id="t/a", at=at + timedelta(days=1), pages=[],
                        text="We keep chats for 90 days.")
        changes = _changes(session, versions)
    assert [v.number for v in versions["t/a"]] == [1] and changes == {}
    with reading(factory) as session:
        assert len(_changes(session, _versions(session))["t/a"]) == 1
    engine.dispose()
