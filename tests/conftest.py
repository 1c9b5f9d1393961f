"""Shared fixtures: the real CLI in a subprocess, a real local HTTP server, real databases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from policywatch.localserver import LocalServer
from policywatch.reference_data import shared_dir

REPO = Path(__file__).resolve().parent.parent
# Declarations with no enabled news source: a test's `run` reads no news (never the bundled, real feeds)
# unless it declares its own.
NO_NEWS = REPO / "tests" / "data" / "news" / "declarations" / "none.yaml"


def version_texts(db: Path, source_id: str | None = None) -> dict[tuple[str, int], str]:
    """The texts of a database's versions (those of one source when given), by (source, number), in that order.

    Texts are stored compressed (storage.texts), so tests read them as the commands do, not with SQL."""
    from sqlalchemy import select

    from storage import texts
    from storage.db import make_engine, reading, session_factory
    from storage.models import Version

    engine = make_engine(f"sqlite:///{db}")
    try:
        with reading(session_factory(engine)) as session:
            query = select(Version).order_by(Version.source_id, Version.number)
            versions = session.scalars(query if source_id is None else query.where(Version.source_id == source_id)).all()
            found = texts.of_versions(session, versions)
            return {(v.source_id, v.number): found[v.id] for v in versions}
    finally:
        engine.dispose()



@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the PostgreSQL server at `server_url`, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"pw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: an SQLite file, then a PostgreSQL database (skipped without a server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pw.db'}"
        return
    server = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared/ota-data not found: the real OpenAI history is not available on this machine")
    return path


class CLI:
    """Runs `policywatch` as a user would, in a subprocess (Twisted's reactor runs once per process)."""

    def __init__(self, db: Path, sources: Path | None, cwd: Path, news: Path | None = None):
        self.db, self.sources, self.cwd, self.news = db, sources, cwd, news

    def __call__(self, *args: str, check: bool = True, timeout: float = 120,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "policywatch", "--db", str(self.db)]
        if self.sources is not None:
            command += ["--sources", str(self.sources)]
        command += ["--news", str(self.news or NO_NEWS)]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
        environ.update({"POLICYWATCH_BACKOFF_BASE": "0.05", "POLICYWATCH_AUTOTHROTTLE": "false",
                        "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true"})
        environ.update(env or {})
        result = subprocess.run(command + list(args), capture_output=True, text=True, cwd=self.cwd, env=environ,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"policywatch {' '.join(args)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def make_cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    def factory(sources: Path | None = None, db: Path | None = None, news: Path | None = None) -> CLI:
        return CLI(db or tmp_path / "policywatch.db", sources, tmp_path, news)
    return factory


def write_declarations(path: Path, base_url: str, sources: list[dict[str, Any]]) -> Path:
    """A declarations file for pages served by the local server."""
    import yaml

    entries = []
    for spec in sources:
        entry = {"vendor": "Testco", "title": spec["id"], "document_type": "Privacy Policy", "language": "en"}
        entry.update(spec)
        entry["urls"] = [base_url + u if u.startswith("/") else u for u in entry["urls"]]
        entries.append(entry)
    path.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False), encoding="utf-8")
    return path


def one_source_to_import(folder: Path) -> tuple[Path, Path]:
    """Declarations of one source on 127.0.0.1 (never fetched) and a manifest importing a saved page of it."""
    decl = write_declarations(folder / "sources.yaml", "http://127.0.0.1:9", [
        {"id": "t/a", "urls": ["http://127.0.0.1:9/a"], "select": "main"}])
    (folder / "a.html").write_text("<main><p>We keep chats for 30 days.</p></main>", encoding="utf-8")
    manifest = folder / "m.jsonl"
    manifest.write_text('{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.html"}\n', encoding="utf-8")
    return decl, manifest


def analyses_while_writable(monkeypatch: pytest.MonkeyPatch, database: Path) -> list[str]:
    """Each change analysis first tries to write to the SQLite file `database` from another connection, without
    waiting; the list returned collects "written", or why not, once per analysis."""
    import sqlite3

    import ingest.changes

    attempts: list[str] = []
    analyse = ingest.changes.analyse_texts

    def analyse_while_another_writes(*args, **kwargs):  # type: ignore[no-untyped-def]
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE sources SET title = title")
            other.rollback()
            attempts.append("written")
        except sqlite3.OperationalError as exc:
            attempts.append(str(exc))
        finally:
            other.close()
        return analyse(*args, **kwargs)

    monkeypatch.setattr(ingest.changes, "analyse_texts", analyse_while_another_writes)
    return attempts


def hold_write_lock(db: Path, seconds: float, started: threading.Event,
                    release: threading.Event | None = None) -> None:
    """Another writer: SQLite's write lock held for `seconds`, or until `release` is set (whatever the machine's
    load)."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    started.set()
    (release or threading.Event()).wait(seconds)
    conn.execute("ROLLBACK")
    conn.close()
