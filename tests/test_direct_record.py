"""A crawl's own thread records a first version or a page found unchanged on SQLite's own connection
(`storage.direct`), exactly as through a Session; anything that path cannot do falls back to a Session having
written nothing.

Real SQLite files; the record compared whole (every table, every row, every
column) with the one `store_outcome` writes through SQLAlchemy's Session for
the same fetches.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from ingest.declarations import Source
from ingest.extraction import BUILTIN_FILTERS, ExtractionRules
from ingest.judge import GuardPolicy, prepare_page
from ingest.record import BehindTheRecord, SourceBusy, _by_digest, store_outcome, store_quickly
from storage.db import insert_new, make_engine, session_factory, transaction, upgrade
from storage.direct import LockNotGranted, NeedsSession, direct_transaction
from storage.models import Blob, SourceLock, SourceRow
from storage.record import RawPage, lock_source, newest_versions, start_run

from conftest import hold_write_lock

T0 = datetime(2026, 1, 1, 2, 30, tzinfo=timezone.utc)
RULES = ExtractionRules(select=("main",), filters=(BUILTIN_FILTERS["typography"],))
SOURCE = Source(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy", language="en",
                urls=("http://127.0.0.1/policy",), rules=RULES, tags=("chatgpt",))
# A document in two pages.
TWO_PAGES = Source(id="testco/terms", vendor="Testco", title="Terms", document_type="Terms of Use", language="en",
                   urls=("http://127.0.0.1/terms", "http://127.0.0.1/terms?page=2"), rules=RULES)


def html(nonce: str) -> bytes:
    return (f"<html><head><script nonce='{nonce}'></script></head><body><main><h1>Privacy</h1>"
            f"<p>We keep your chats for 30 days.</p></main></body></html>").encode()


def page(body: bytes, source: Source = SOURCE) -> list[RawPage]:
    return [RawPage(url, url, 200, "text/html; charset=utf-8", body.replace(b"Privacy", b"Part %d" % n))
            for n, url in enumerate(source.urls)]


class Record:
    def __init__(self, path: Path):
        self.path = path
        self.engine = make_engine(f"sqlite:///{path}")
        upgrade(self.engine)
        self.quick_engine = make_engine(f"sqlite:///{path}", lock_timeout=0.0)
        self.factory, self.quick = session_factory(self.engine), session_factory(self.quick_engine)
        with transaction(self.factory) as session:
            self.run_id = start_run(session, "crawl", T0).id
        self.keys: dict[tuple[str, int], str | None] = {}

    def prepared(self, body: bytes, source: Source = SOURCE):  # type: ignore[no-untyped-def]
        """Each page prepared as the crawler prepares it, expecting the key its position had at the last fetch."""
        prepared = [prepare_page(p.body, RULES, "utf-8", known_key=self.keys.get((source.id, n)))
                    for n, p in enumerate(page(body, source))]
        self.keys.update({(source.id, n): p.key for n, p in enumerate(prepared)})
        return prepared

    def rows(self) -> dict[str, list[tuple]]:
        """Every table, whole."""
        with sqlite3.connect(self.path) as conn:
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {table: conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}

    def close(self) -> None:
        self.engine.dispose()
        self.quick_engine.dispose()


@pytest.fixture
def two(tmp_path: Path):  # type: ignore[no-untyped-def]
    made = Record(tmp_path / "direct.db"), Record(tmp_path / "session.db")
    yield made
    for record in made:
        record.close()


def _no_session(*_: object) -> None:
    raise AssertionError("recorded through a Session")


def test_the_direct_path_records_what_a_session_records(two, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # For a one-page and a two-page source: a first version, the same pages with new nonces (confirmed by content
    # keys), the very bytes of an earlier fetch (stored already), the same text in other markup (confirmed by the
    # text's digest), at a time given in another zone, then a change, left to be analysed. On one database through
    # `store_quickly`'s direct path, never opening a Session; on the other through `store_outcome`'s Session.
    direct, session = two
    bodies = [html("a1"), html("b2"), html("a1"), html("d4").replace(b"<p>We keep", b"<p><span>We keep</span>"),
              html("e5").replace(b"30 days", b"90 days")]
    paris = timezone(timedelta(hours=1))
    outcomes = []
    for day, body in enumerate(bodies):
        at = (T0 + timedelta(days=day, microseconds=day * 1001)).astimezone(paris if day == 3 else timezone.utc)
        for source in (SOURCE, TWO_PAGES):
            prepared_direct, prepared_session = direct.prepared(body, source), session.prepared(body, source)
            assert all((p.text is None) == (day in (1, 2)) for p in prepared_direct)  # converted where the key is new
            with monkeypatch.context() as patched:
                patched.setattr("ingest.record.transaction", _no_session)
                quick = store_quickly(direct.quick, direct.run_id, source, at, page(body, source), None,
                                      prepared=prepared_direct)
            outcomes.append(None if quick is None else (str(quick.outcome), quick.version_number))
            if quick is None:
                # Left to be analysed, with nothing written: the worker records it through a Session, as it did.
                store_outcome(direct.factory, direct.run_id, source, at, page(body, source), None,
                              prepared=prepared_direct)
            through_session = store_outcome(session.factory, session.run_id, source, at, page(body, source), None,
                                            prepared=prepared_session)
            assert quick is None or (through_session.outcome, through_session.version_number) == (
                quick.outcome, quick.version_number)
    assert outcomes == [("first", 1)] * 2 + [("unchanged", 1)] * 6 + [None] * 2
    rows = direct.rows()
    assert rows == session.rows()
    # Fifteen pages kept as eight stored ones (the two sources' first pages are the same bytes, and a fetch repeated
    # an earlier one's): the first bytes at each position a keyframe, the rest deltas against it.
    assert len(rows["snapshots"]) == 15 and len(rows["blobs"]) == 8
    assert sum(1 for blob in rows["blobs"] if blob[2] is not None) == 6
    assert len(rows["versions"]) == 4 and len(rows["ledger_entries"]) == 4
    with direct.factory() as s:
        newest = newest_versions(s, SOURCE.id)
        assert newest[1].last_confirmed == T0 + timedelta(days=3, microseconds=3003)
        row = s.get_one(SourceRow, SOURCE.id)
        assert (row.urls, row.tags) == (["http://127.0.0.1/policy"], ["chatgpt"])


def test_a_source_whose_row_must_be_written_falls_back_and_nothing_is_left_half_written(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    before = direct.rows()
    renamed = Source(**{**SOURCE.__dict__, "title": "Privacy Policy (renamed)"})
    prepared = direct.prepared(html("b2"))
    fetch = dict(run_id=direct.run_id, source=renamed, at=T0 + timedelta(days=1), pages=page(html("b2")),
                 failure=None, policy=GuardPolicy(), prepared=prepared, claim=None)
    with pytest.raises(NeedsSession, match="Session.get"):
        _by_digest(direct.quick, direct_transaction, **fetch)
    assert direct.rows() == before
    # `store_quickly` then records it through a Session, the source's row written as declared.
    quick = store_quickly(direct.quick, direct.run_id, renamed, fetch["at"], fetch["pages"], None, prepared=prepared)
    assert quick is not None and str(quick.outcome) == "unchanged"
    with direct.factory() as s:
        assert s.get_one(SourceRow, SOURCE.id).title == "Privacy Policy (renamed)"


def test_a_refused_page_falls_back_and_is_recorded_as_a_failure(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    before = direct.rows()
    missing = b"<html><body><div>Nothing selected here.</div></body></html>"
    prepared = direct.prepared(missing)
    fetch = dict(run_id=direct.run_id, source=SOURCE, at=T0 + timedelta(days=1), pages=page(missing), failure=None,
                 policy=GuardPolicy(), prepared=prepared, claim=None)
    with pytest.raises(NeedsSession):
        _by_digest(direct.quick, direct_transaction, **fetch)
    assert direct.rows() == before
    quick = store_quickly(direct.quick, direct.run_id, SOURCE, fetch["at"], fetch["pages"], None, prepared=prepared)
    assert quick is not None and str(quick.outcome) == "failed" and str(quick.failure.kind) == "selector_miss"


def _fetch(record: Record, nonce: str, day: int = 1) -> dict:  # type: ignore[type-arg]
    return dict(run_id=record.run_id, source=SOURCE, at=T0 + timedelta(days=day), pages=page(html(nonce)),
                failure=None, policy=GuardPolicy(), prepared=record.prepared(html(nonce)), claim=None)


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_write_lock_another_writer_holds_is_waited_for_once_and_nothing_is_written(two, journal, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # In a record not yet in WAL mode, the lock is met while a new connection is set up (switching to WAL needs
    # it), before any transaction; in WAL mode, by `BEGIN IMMEDIATE`. Either way the direct path gives way at once
    # and `store_quickly` does not try again through a Session, which would wait as long again.
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    direct.close()
    if journal == "delete":
        with sqlite3.connect(direct.path) as conn:
            assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    quick_engine = make_engine(f"sqlite:///{direct.path}", lock_timeout=0.0)
    quick = session_factory(quick_engine)
    before = direct.rows()
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(direct.path, 30, started, release))
    holder.start()
    try:
        assert started.wait(10)
        with pytest.raises(LockNotGranted, match="locked"):
            _by_digest(quick, direct_transaction, **_fetch(direct, "b2"))
        monkeypatch.setattr("ingest.record.transaction", _no_session)
        fetch = _fetch(direct, "c3", 2)
        assert store_quickly(quick, direct.run_id, SOURCE, fetch["at"], fetch["pages"], None,
                             prepared=fetch["prepared"]) is None
    finally:
        release.set()
        holder.join()
        quick_engine.dispose()
    assert direct.rows() == before


def test_a_source_another_live_run_holds_is_left_to_wait_as_before(two, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with transaction(direct.factory) as session:
            importing = start_run(session, "import", T0).id
            assert lock_source(session, SOURCE.id, importing) is None
            session.get_one(SourceLock, SOURCE.id).pid = other.pid  # an import running in another process
        before = direct.rows()
        fetch = _fetch(direct, "b2")
        with pytest.raises(NeedsSession, match="Session.get"):
            _by_digest(direct.quick, direct_transaction, **fetch)
        with pytest.raises(SourceBusy):
            store_quickly(direct.quick, direct.run_id, SOURCE, fetch["at"], fetch["pages"], None,
                          prepared=fetch["prepared"])
        assert direct.rows() == before
    finally:
        other.kill()
        other.wait()


def test_a_fetch_dated_before_the_record_is_refused_on_the_direct_path_itself(two) -> None:  # type: ignore[no-untyped-def]
    # The latest time of the record is read on SQLite's own connection too: the refusal costs no Session.
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0 + timedelta(days=2), page(html("a1")), None,
                  prepared=direct.prepared(html("a1")))
    before = direct.rows()
    with pytest.raises(BehindTheRecord) as refused:
        _by_digest(direct.quick, direct_transaction, **_fetch(direct, "a1", day=1))
    assert (refused.value.at, refused.value.latest) == (T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert direct.rows() == before
    # At the record's own time, or later, the fetch is recorded as any other.
    assert _by_digest(direct.quick, direct_transaction, **_fetch(direct, "a2", day=2)) is not None


def test_a_page_stored_already_is_not_inserted_again(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    values = dict(sha256="ab" * 32, size=3, base_sha256=None, data=b"abc")
    with direct_transaction(direct.quick) as session:
        assert insert_new(session, Blob, **values) is True  # type: ignore[arg-type]
        assert insert_new(session, Blob, **values) is False  # type: ignore[arg-type]
    assert direct.rows()["blobs"] == [("ab" * 32, 3, None, b"abc")]


def test_an_error_inside_the_transaction_rolls_back_what_it_wrote(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    before = direct.rows()
    with pytest.raises(RuntimeError, match="stop"):
        with direct_transaction(direct.quick) as session:
            session.execute(insert(SourceRow), {"id": "x/y", "vendor": "X", "title": "Y", "document_type": "Terms",
                                                "language": "en", "urls": ["http://127.0.0.1/y"], "tags": []})
            assert session.execute(select(SourceRow.id).where(SourceRow.id == "x/y")).scalar() == "x/y"
            raise RuntimeError("stop")
    assert direct.rows() == before


ROW = {"id": "x/y", "vendor": "X", "title": "Y", "document_type": "Terms", "language": "en",
       "urls": ["http://127.0.0.1/y"], "tags": []}


@pytest.mark.parametrize("use", [
    pytest.param(lambda session: session.get(SourceRow, "x/y"), id="an ORM method"),
    pytest.param(lambda session: session.add(SourceRow(id="x/y")), id="an ORM object"),
    # `tags` has a default worked out at execution (`default=list`): left to SQLAlchemy's execution.
    pytest.param(lambda session: session.execute(insert(SourceRow), {
        "id": "x/y", "vendor": "X", "title": "Y", "document_type": "Terms", "language": "en", "urls": []}),
        id="a default worked out at execution"),
    pytest.param(lambda session: session.execute(select(SourceRow.id).where(SourceRow.id.in_(["a", "b"]))),
                 id="parameters expanded at execution"),
    pytest.param(lambda session: (session.execute(insert(SourceRow), ROW), session.execute(insert(SourceRow), {**ROW, "title": None})),
                 id="a constraint SQLite refuses, after a write"),
    pytest.param(lambda session: session.execute(select(SourceRow)), id="ORM objects selected"),
    pytest.param(lambda session: session.execute(select(SourceRow.id)).scalars(), id="a result read another way"),
])
def test_what_the_direct_path_cannot_do_raises_needs_session_and_writes_nothing(two, use) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    before = direct.rows()
    with pytest.raises(NeedsSession):
        with direct_transaction(direct.quick) as session:
            use(session)
    assert direct.rows() == before


def test_another_engine_than_sqlite_is_refused_before_connecting() -> None:
    # No server is needed: the engine connects only when used, and the direct path refuses it before.
    engine = make_engine("postgresql+psycopg://policywatch@127.0.0.1:9/none")
    with pytest.raises(NeedsSession, match="SQLite"):
        with direct_transaction(session_factory(engine)):
            pass
