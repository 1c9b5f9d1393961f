"""On SQLite, a crawl records a fetch with nothing to analyse in its own thread, never waiting there for another
writer.

`ingest.record.store_quickly` records a failure, a first version or the
current text again in one short transaction; on an SQLite engine that does not
wait for the write lock (`make_engine(..., lock_timeout=0)`) it records nothing
when another writer holds it. What it leaves (a change to analyse, a lock
another writer holds) `store_outcome` records in the crawl's worker thread.
Real SQLite and PostgreSQL, a real crawl.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ingest.declarations import Source
from ingest.extraction import BUILTIN_FILTERS, ExtractionRules
from ingest.judge import prepare_page
from ingest.record import store_outcome, store_quickly
from policywatch.localserver import Page
from storage.db import lock_not_available, make_engine, session_factory, transaction, upgrade
from storage.models import FetchOutcome
from storage import texts
from storage.record import RawPage, record_pending, start_run

from conftest import CLI, hold_write_lock, write_declarations

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RULES = ExtractionRules(select=("main",), filters=(BUILTIN_FILTERS["typography"],))
THIRTY, NINETY = "We keep your chats for 30 days.", "We keep your chats for 90 days."


def html(nonce: str, wording: str = THIRTY) -> bytes:
    return (f"<html><head><script nonce='{nonce}'></script></head><body><main><h1>Privacy</h1><p>{wording}</p>"
            f"</main></body></html>").encode()


SOURCE = Source(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy", language="en",
                urls=("http://127.0.0.1/policy",), rules=RULES)


def page(body: bytes) -> list[RawPage]:
    return [RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", 200, "text/html; charset=utf-8", body)]


class Record:
    """A database with a run, the engine a crawl waits on and the one it records quickly on."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        upgrade(self.engine)
        self.quick_engine = make_engine(url, lock_timeout=0.0)
        self.factory, self.quick = session_factory(self.engine), session_factory(self.quick_engine)
        with transaction(self.factory) as session:
            self.run_id = start_run(session, "crawl", T0).id
        self.key: str | None = None

    def prepared(self, body: bytes):  # type: ignore[no-untyped-def]
        prepared = prepare_page(body, RULES, "utf-8", known_key=self.key)
        self.key = prepared.key
        return [prepared]

    def outcomes(self) -> list[str]:
        with self.factory() as session:
            return [str(o) for o in session.scalars(select(FetchOutcome.outcome).order_by(FetchOutcome.id))]

    def close(self) -> None:
        self.engine.dispose()
        self.quick_engine.dispose()


@pytest.fixture
def record(db_url: str):  # type: ignore[no-untyped-def]
    made = Record(db_url)
    yield made
    made.close()


def test_a_fetch_with_nothing_to_analyse_is_recorded_and_a_change_is_left_for_the_worker(record: Record) -> None:
    results = []
    for day, body in enumerate([html("a1"), html("b2"), html("c3", NINETY)]):
        at = T0 + timedelta(days=day)
        prepared = record.prepared(body)
        quick = store_quickly(record.quick, record.run_id, SOURCE, at, page(body), None, prepared=prepared)
        results.append(None if quick is None else str(quick.outcome))
        if quick is None:
            # Nothing was recorded: the worker records the change, analysed, as it would have.
            assert record.outcomes() == ["first", "unchanged"]
            assert str(store_outcome(record.factory, record.run_id, SOURCE, at, page(body), None,
                                     prepared=prepared).outcome) == "changed"
    assert results == ["first", "unchanged", None]
    assert record.outcomes() == ["first", "unchanged", "changed"]


def test_a_fetch_found_with_the_accepted_keys_is_confirmed_without_its_text(record: Record, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # On both databases: the current version confirmed by content keys, no text read; a capture held since the
    # version was last confirmed makes the fetch be decided by its text again (the held capture's time is read
    # and compared in the same statement as the keys).
    read: list[int] = []
    read_many = texts.read_many
    monkeypatch.setattr(texts, "read_many",
                        lambda session, digests: read.append(len(digests)) or read_many(session, digests))
    outcomes = []
    for day, body in enumerate([html("a1"), html("b2"), html("c3")]):
        if day == 2:
            with transaction(record.factory) as session:
                record_pending(session, run_id=record.run_id, source_id=SOURCE.id, at=T0 + timedelta(days=1, hours=1),
                               pages=page(html("z9")), text="Something else entirely.", detail="held")
        quick = store_quickly(record.quick, record.run_id, SOURCE, T0 + timedelta(days=day), page(body), None,
                              prepared=record.prepared(body))
        outcomes.append(None if quick is None else str(quick.outcome))
        if day == 1:
            assert read == []
    # The held capture needs its text compared: left to the worker, which drops it.
    assert outcomes == ["first", "unchanged", None] and read
    assert str(store_outcome(record.factory, record.run_id, SOURCE, T0 + timedelta(days=2), page(html("c3")), None,
                             prepared=record.prepared(html("c3"))).outcome) == "unchanged"
    assert record.outcomes() == ["first", "unchanged", "dropped", "unchanged"]


def test_the_write_lock_another_writer_holds_is_not_waited_for(tmp_path: Path) -> None:
    database = tmp_path / "pw.db"
    record = Record(f"sqlite:///{database}")
    try:
        first = html("a1")
        assert store_quickly(record.quick, record.run_id, SOURCE, T0, page(first), None,
                             prepared=record.prepared(first)) is not None
        started, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(database, 60.0, started, release))
        holder.start()
        try:
            assert started.wait(30)
            again = html("b2")
            began = time.monotonic()
            quick = store_quickly(record.quick, record.run_id, SOURCE, T0 + timedelta(days=1), page(again), None,
                                  prepared=record.prepared(again))
            waited = time.monotonic() - began
        finally:
            release.set()
            holder.join()
        assert quick is None
        # At once, where the crawl's other engine waits up to its lock timeout (30 s).
        assert waited < 1.0, waited
        assert record.outcomes() == ["first"]
        # Once the other writer is done, the fetch is recorded as it would have been.
        assert str(store_outcome(record.factory, record.run_id, SOURCE, T0 + timedelta(days=1), page(again), None,
                                 prepared=record.prepared(again)).outcome) == "unchanged"
    finally:
        record.close()


def test_only_a_lock_not_granted_counts_as_one(db_url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    record = Record(db_url)
    try:
        with pytest.raises(DBAPIError) as wrong:
            with record.engine.connect() as conn:
                conn.execute(text("SELECT no_such_column FROM sources"))
        assert not lock_not_available(wrong.value)
        with transaction(record.factory) as session:
            session.execute(text("INSERT INTO sources (id, vendor, title, document_type, language, urls, tags) "
                                 "VALUES (:id, 'X', 'Y', 'Privacy Policy', 'en', '[]', '[]')"), {"id": SOURCE.id})
        started, release = threading.Event(), threading.Event()

        def hold() -> None:
            with record.engine.connect() as conn:
                if db_url.startswith("sqlite"):
                    conn.exec_driver_sql("ROLLBACK")  # the engine began a reader's transaction; a writer's is IMMEDIATE
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.execute(text("SELECT id FROM sources WHERE id = :id FOR UPDATE"), {"id": SOURCE.id})
                started.set()
                release.wait(60)
                conn.rollback()

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert started.wait(30)
            with pytest.raises(DBAPIError) as locked:
                with transaction(record.quick) as session:
                    if db_url.startswith("sqlite"):
                        session.execute(text("UPDATE sources SET title = title WHERE id = :id"), {"id": SOURCE.id})
                    else:
                        # A server's lock is not granted within the lock timeout a user may set.
                        session.execute(text("SET LOCAL lock_timeout = '50ms'"))
                        session.execute(text("SELECT id FROM sources WHERE id = :id FOR UPDATE"), {"id": SOURCE.id})
        finally:
            release.set()
            holder.join()
        assert lock_not_available(locked.value), locked.value
    finally:
        record.close()


def test_a_crawl_fetches_on_while_another_writer_holds_the_database_and_loses_nothing(served_pages, tmp_path: Path
                                                                                     ) -> None:  # type: ignore[no-untyped-def]
    # The first page served takes SQLite's write lock for 5 s. Fetches that cannot be recorded without waiting
    # go to the worker, which waits: the crawl's thread does not, so every page is fetched while the lock is held.
    server, decl, count = served_pages
    cli = CLI(tmp_path / "pw.db", decl, tmp_path)
    cli("crawl")
    started, release = threading.Event(), threading.Event()
    served: dict[str, float] = {}
    released: list[float] = []

    def hold() -> None:
        hold_write_lock(cli.db, 5.0, started, release)
        released.append(time.monotonic())

    holder = threading.Thread(target=hold)

    def serving(path: str, body: Page):  # type: ignore[no-untyped-def]
        def serve() -> Page:
            if not started.is_set():
                holder.start()
                started.wait(30)
            served[path] = time.monotonic()
            return body
        return serve

    for path in list(server.routes):
        server.routes[path] = serving(path, server.routes[path])
    try:
        done = cli("crawl", check=False, env={"POLICYWATCH_LOCK_TIMEOUT": "60", "POLICYWATCH_CONCURRENCY_PER_DOMAIN": "1"})
    finally:
        release.set()
        if holder.is_alive():
            holder.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(served) == count and released
    assert max(served.values()) < released[0], "the crawl's thread waited for the lock"
    with sqlite3.connect(cli.db) as conn:
        recorded = conn.execute("select outcome, count(*) from fetch_outcomes where run_id = 2 group by outcome").fetchall()
    assert recorded == [("unchanged", count)]


@pytest.fixture
def served_pages(server, tmp_path: Path):  # type: ignore[no-untyped-def]
    count = 6
    for n in range(count):
        server.routes[f"/p/{n}"] = Page(html(f"n{n}", f"Source {n} keeps your chats for {n + 1} days."))
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": f"t/p{n}", "urls": [f"/p/{n}"], "select": "main"} for n in range(count)])
    return server, decl, count
