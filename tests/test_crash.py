"""Crash safety: a crawl killed with SIGKILL at random moments leaves a consistent database.

After each kill, `policywatch check` and a normal crawl both succeed, and in
the end the database holds the same versions as an uninterrupted crawl.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page

SOURCES = 50
KILLS = 20


def page(i: int) -> Page:
    filler = "".join(f"<p>Section {j} of policy {i}: we keep records for {j + 10} days.</p>" for j in range(300))
    nonce = os.urandom(16).hex()  # a new nonce on every request, as real pages have
    return Page(f"<html><head><script nonce='{nonce}'></script></head><body><main><h1>Policy {i}</h1>"
                f"{filler}</main></body></html>".encode())


def running(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from runs where status = 'running'").fetchone()[0] > 0
    except sqlite3.OperationalError:  # the schema is still being created
        return False


def versions(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select source_id, sha256 from versions order by source_id, number").fetchall()
    result: dict[str, list[str]] = {}
    for sid, sha in rows:
        result.setdefault(sid, []).append(sha)
    return result


def test_sigkill_at_random_moments_never_corrupts(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    with LocalServer() as server:
        for i in range(SOURCES):
            server.routes[f"/p/{i}"] = (lambda i=i: page(i))
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": f"t/p{i:02d}", "urls": [f"/p/{i}"], "select": "main"} for i in range(SOURCES)])
        reference = CLI(tmp_path / "reference.db", decl, tmp_path)
        reference("crawl")
        expected = versions(reference.db)
        assert len(expected) == SOURCES

        cli = CLI(tmp_path / "killed.db", decl, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
        env.update({"POLICYWATCH_AUTOTHROTTLE": "false", "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true"})
        command = [sys.executable, "-m", "policywatch", "--db", str(cli.db), "--sources", str(decl), "crawl"]
        landed = 0
        for _ in range(KILLS):
            process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            # Kill at a random moment after the crawl has started recording, when a kill can do harm.
            deadline = time.monotonic() + 60
            while process.poll() is None and not running(cli.db) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.8))
            if process.poll() is None and running(cli.db):
                landed += 1
            process.send_signal(signal.SIGKILL)
            process.wait()
            check = cli("check", check=False)
            assert check.returncode == 0, check.stdout + check.stderr
            cli("crawl")
            with sqlite3.connect(cli.db) as conn:
                assert conn.execute("select count(*) from runs where status = 'running'").fetchone()[0] == 0
        assert landed >= KILLS // 2, f"only {landed} kills landed while a crawl was recording"
        print(f"{landed} of {KILLS} kills landed while a crawl was recording")
        assert versions(cli.db) == expected
        with sqlite3.connect(cli.db) as conn:
            aborted = conn.execute("select count(*) from runs where status = 'aborted'").fetchone()[0]
        assert aborted >= landed - 2, "every run killed while recording is marked aborted by the next one"
