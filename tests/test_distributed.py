"""A night shared by several workers on PostgreSQL, against one `policywatch run` on the same pages.

60 sources on 12 hosts, each bound to its own loopback address, each logging
every request with the worker that sent it (each process has its own contact
URL, so its own user agent). Three nights: the first with one worker killed
(-9) in the middle of a domain; the second with changed wording; the third
with nothing changed. Two claims follow some of the pages: the distributed
night evaluates them as the single process does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import feedparser
import pytest
from sqlalchemy import create_engine, select, text

from conftest import NO_NEWS, REPO
from policywatch.localserver import LocalServer, Page, Served
from storage.db import make_engine, session_factory
from storage.claims_models import ClaimEventRow, ClaimEvidenceRow, ClaimStateRow
from storage.models import Change, FetchOutcome, NightJob, Version, Worker
from storage.vocabulary import JobStatus, Outcome

URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.skipif(not URL, reason="POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server "
                                 "to test against (.ci/run starts one)")]

HOSTS = 12
PER_HOST = 5
DAY = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
BASE = "https://example.org/pw/"


def page(host: int, doc: int, night: int) -> bytes:
    days = 90 if night >= 2 and doc == 0 and host % 3 == 0 else 30
    training = ("We use your chats to train our models." if night >= 2 and doc == 1 and host % 4 == 1
                else "We do not use your chats to train our models.")
    filler = " ".join(f"Clause {i} of document {doc} at host {host} stays as it is." for i in range(30))
    return (f"<html><head><title>Doc {host}-{doc}</title></head><body><main><h1>Policy {host}-{doc}</h1>"
            f"<p>We keep temporary chats for {days} days.</p><p>{training}</p><p>{filler}</p></main></body></html>"
            ).encode()


class Site:
    """Twelve servers; `night` picks the edition they serve."""

    def __init__(self, delay: float):
        self.night = 1
        self.delay = delay
        self.servers = [LocalServer(host=f"127.0.0.{h + 1}") for h in range(HOSTS)]
        for h, server in enumerate(self.servers):
            server.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", content_type="text/plain")
            for d in range(PER_HOST):
                server.routes[f"/doc{d}"] = lambda h=h, d=d: Page(page(h, d, self.night), delay=self.delay)

    def declarations(self, path: Path) -> Path:
        import yaml

        entries = [{"id": f"h{h:02d}/doc{d}", "vendor": "Testco", "title": f"Policy {h}-{d}",
                    "document_type": "Privacy Policy", "language": "en", "select": "main",
                    "urls": [f"{server.base_url}/doc{d}"]}
                   for h, server in enumerate(self.servers) for d in range(PER_HOST)]
        path.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False), encoding="utf-8")
        return path

    def log(self) -> dict[str, list[Served]]:
        return {server.base_url: list(server.served) for server in self.servers}


CLAIMS = [
    {"id": "testco/temporary-chats-30-days", "vendor": "Testco", "statement": {"en": "Testco keeps temporary chats "
     "for 30 days."}, "scope": ["h00/doc0", "h03/doc0"],
     "evidence": {"supports": [{"id": "kept-30-days", "expect": {"max_days": 30},
                                "en": {"patterns": [r"\bkeep temporary chats for\b(?:\W+\w+){0,3}?\W+days\b"]}}]}},
    {"id": "testco/no-training", "vendor": "Testco", "statement": {"en": "Testco does not train on chats."},
     "scope": ["h01/doc1", "h05/doc1"],
     "evidence": {"supports": [{"id": "does-not-train", "expect": {"polarity": "negated"},
                                "en": {"patterns": [r"\buse your chats to train\b"]}}]}},
]


def write_claims(path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"claims": CLAIMS}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site(delay=0.1)
    for server in site.servers:
        server.__enter__()
    yield site
    for server in site.servers:
        server.__exit__(None, None, None)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    assert URL is not None
    names = [f"pw_dist_{uuid.uuid4().hex[:10]}", f"pw_single_{uuid.uuid4().hex[:10]}"]
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = URL.rsplit("/", 1)[0]
    yield base + "/" + names[0], base + "/" + names[1]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def environment(db: str, sources: Path, who: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update({"POLICYWATCH_DB": db, "POLICYWATCH_SOURCES": str(sources), "POLICYWATCH_NEWS": str(NO_NEWS),
                "POLICYWATCH_CLAIMS": str(sources.parent / "claims.yaml"),
                "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true", "POLICYWATCH_AUTOTHROTTLE": "false",
                "POLICYWATCH_BACKOFF_BASE": "0.05", "POLICYWATCH_CONTACT_URL": f"https://example.org/{who}",
                "POLICYWATCH_WORKER_HEARTBEAT": "1", "POLICYWATCH_WORKER_STALLED_AFTER": "8"})
    return env


def policywatch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "policywatch", *args], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, f"policywatch {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def start_worker(name: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "policywatch", "worker", "--name", name, "--log",
                                str(cwd / f"{name}.log")], env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "taking jobs" in line, line + process.stderr.read() if process.stderr else line
    return process


def who(served: Served) -> str:
    return served.user_agent.rsplit("/", 1)[-1].rstrip(")")


def kill_in_the_middle(db: str, worker: subprocess.Popen[str], name: str, deadline: float) -> int:
    """Kill -9 `name` once it has recorded some sources of a host and not the others: that host's number."""
    engine = make_engine(db)
    try:
        while time.monotonic() < deadline:
            with session_factory(engine)() as session:
                rows = session.execute(select(FetchOutcome.source_id, Worker.name)
                                       .join(Worker, Worker.id == FetchOutcome.worker_id)).all()
            per_host: dict[str, list[str]] = defaultdict(list)
            for source_id, worker_name in rows:
                per_host[source_id.split("/")[0]].append(worker_name)
            for host, names in per_host.items():
                if names.count(name) == len(names) and 1 <= len(names) < PER_HOST:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait(10)
                    return int(host[1:])
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"{name} never got into the middle of a domain")


def record(db: str) -> dict[str, object]:
    engine = make_engine(db)
    with session_factory(engine)() as session:
        versions = sorted((v.source_id, v.number, v.sha256, v.first_seen) for v in session.scalars(select(Version)))
        changes = sorted((c.source_id, c.kind, c.words_added, c.words_removed, tuple(c.flags), c.severity, c.summary,
                          c.announced) for c in session.scalars(select(Change)))
        states = sorted((s.claim_id, s.status, s.since, s.cause) for s in session.scalars(select(ClaimStateRow)))
        events = sorted((e.claim_id, e.status, e.previous or "", e.since, e.cause, e.source_id or "", e.version or 0,
                         e.change_kind or "", e.announce, tuple(e.removed), tuple(e.added), e.withdrawn_at is None)
                        for e in session.scalars(select(ClaimEventRow)))
        evidence = sorted((e.claim_id, e.matcher_id, e.role, e.source_id, e.sentence, e.first_version, e.first_at,
                           e.last_version, e.last_at, e.last_confirmed, e.end_reason or "", e.end_version or 0)
                          for e in session.scalars(select(ClaimEvidenceRow)))
    engine.dispose()
    return {"versions": versions, "changes": changes, "claim states": states, "claim events": events,
            "claim evidence": evidence}


def feeds(out: Path) -> dict[str, dict[str, tuple[object, ...]]]:
    """Each feed's entries by id: title, time, text and categories. Their links name the change's row, whose
    number depends on the order the workers recorded in, and so does the order of entries made at one time."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.suffix in (".atom", ".rss"):
            parsed = feedparser.parse(path.read_text(encoding="utf-8"))
            # An RSS item has a publication date, an Atom entry an update date (asking an item for `updated`
            # makes feedparser warn that it answers with `published`).
            found[path.name] = {e.id: (e.title, e.get("updated") if "updated" in e else e.get("published"),
                                       re.sub(r"changes/\d+\.html", "changes/N.html", e.get("summary") or ""),
                                       tuple(sorted(t.term for t in e.get("tags", ()))))
                                for e in parsed.entries}
    return found


def test_a_night_shared_by_workers_matches_one_process(site: Site, databases: tuple[str, str],
                                                       tmp_path: Path) -> None:
    distributed_db, single_db = databases
    sources = site.declarations(tmp_path / "sources.yaml")
    write_claims(tmp_path / "claims.yaml")
    coordinator_env = environment(distributed_db, sources, "coordinator")
    site.delay = 0.3  # the first night is slow enough to kill a worker in the middle of a domain
    workers = {name: start_worker(name, environment(distributed_db, sources, name), tmp_path)
               for name in ("w1", "w2")}
    night = subprocess.Popen([sys.executable, "-m", "policywatch", "run", "--distributed", "--name", "coordinator",
                              "--out", str(tmp_path / "site-d"), "--base-url", BASE, "--now", DAY.isoformat(),
                              "--log", str(tmp_path / "coordinator.log")],
                             env=coordinator_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    host_index = kill_in_the_middle(distributed_db, workers.pop("w2"), "w2", time.monotonic() + 60)
    out, err = night.communicate(timeout=180)
    assert night.returncode == 0, out + err
    assert "shared by" in out and "taken over from a worker that stopped answering" in out, out

    engine = make_engine(distributed_db)
    with session_factory(engine)() as session:
        outcomes = session.scalars(select(FetchOutcome)).all()
        by_source = defaultdict(list)
        for outcome in outcomes:
            by_source[outcome.source_id].append(outcome)
        # Every source exactly one outcome that night, and none failed.
        assert len(by_source) == HOSTS * PER_HOST and all(len(v) == 1 for v in by_source.values())
        assert {o.outcome for o in outcomes} == {Outcome.FIRST}
        names = {w.id: w.name for w in session.scalars(select(Worker))}
        # The killed worker's domain was finished by another worker the same night.
        job = session.scalars(select(NightJob).where(NightJob.domain == f"127.0.0.{host_index + 1}")).one()
        assert job.status == JobStatus.DONE and job.attempts >= 2 and names[job.worker_id] != "w2"
        signed = {names[o.worker_id] for o in outcomes if o.source_id.startswith(f"h{host_index:02d}/")}
        assert "w2" in signed and len(signed) >= 2, signed
        assert {names[o.worker_id] for o in outcomes} >= {"coordinator", "w1", "w2"}
    engine.dispose()

    # No two requests to one host overlapped, whichever worker sent them.
    for base, requests in site.log().items():
        ordered = sorted(requests, key=lambda r: r.start)
        for before, after in zip(ordered, ordered[1:]):
            assert after.start >= before.end - 0.005, (base, before, after)

    # Nights two (changed wording) and three (nothing changed), shared by the two workers still alive.
    site.delay = 0.05
    workers["w3"] = start_worker("w3", environment(distributed_db, sources, "w3"), tmp_path)
    for night_number in (2, 3):
        site.night = night_number
        policywatch("run", "--distributed", "--name", "coordinator", "--out", str(tmp_path / "site-d"),
                    "--base-url", BASE, "--now", (DAY + timedelta(days=night_number - 1)).isoformat(),
                    "--log", str(tmp_path / "coordinator.log"), env=coordinator_env, cwd=tmp_path)
    for process in workers.values():
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    # The same three nights in one process, on the same pages.
    single_env = environment(single_db, sources, "single")
    for night_number in (1, 2, 3):
        site.night = night_number
        policywatch("run", "--out", str(tmp_path / "site-s"), "--base-url", BASE,
                    "--now", (DAY + timedelta(days=night_number - 1)).isoformat(), env=single_env, cwd=tmp_path)

    distributed, single = record(distributed_db), record(single_db)
    assert distributed == single
    # Both claims were supported on night one and moved on night two, when every page in their scope changed.
    assert {c for c, *_ in distributed["claim evidence"]} == {c["id"] for c in CLAIMS}
    moved = {e[0] for e in distributed["claim events"] if e[3] == DAY + timedelta(days=1)}
    assert moved == {c["id"] for c in CLAIMS}, distributed["claim events"]
    assert len(distributed["changes"]) == 4 + 3  # hosts 0, 3, 6, 9 (retention) and 1, 5, 9 (training)
    distributed_feeds = feeds(tmp_path / "site-d")
    assert distributed_feeds == feeds(tmp_path / "site-s")
    assert len(distributed_feeds["changes.atom"]) == 7

    engine = make_engine(distributed_db)
    with session_factory(engine)() as session:
        last_run = max(o.run_id for o in session.scalars(select(FetchOutcome)))
        third = session.scalars(select(FetchOutcome).where(FetchOutcome.run_id == last_run)).all()
        assert len(third) == HOSTS * PER_HOST and {o.outcome for o in third} == {Outcome.UNCHANGED}
    engine.dispose()

    # The Runs page says who fetched what each night, and which worker stopped in the middle of a domain.
    runs_page = (tmp_path / "site-d" / "runs.html").read_text(encoding="utf-8")
    assert runs_page.count("<h3 id=\"workers-") == 3 and "stopped answering in the middle of a domain" in runs_page
    assert all(f"<th scope=\"row\">{name}</th>" in runs_page for name in ("coordinator", "w1", "w2", "w3"))

    # The report was rendered once a night, by the coordinator only.
    log = (tmp_path / "coordinator.log").read_text(encoding="utf-8")
    assert log.count("] report: ") == 3, log
    assert all("report" not in (tmp_path / f"{name}.log").read_text(encoding="utf-8") for name in ("w1", "w2", "w3"))
