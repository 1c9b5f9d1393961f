"""A fetch found unchanged by its content keys is recorded on SQLite's own connection (`storage.direct`), exactly as
through a Session, and anything that path cannot do falls back to a Session having written nothing.

Real SQLite files; the record compared row by row, every column, with the one
`store_outcome` writes through SQLAlchemy's Session for the same fetches.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from ingest.declarations import Source
from ingest.extraction import BUILTIN_FILTERS, ExtractionRules
from ingest.judge import GuardPolicy, prepare_page
from ingest.record import _decided_directly, store_outcome, store_quickly
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.direct import NeedsSession, direct_transaction
from storage.models import SourceRow
from storage.record import RawPage, newest_versions, start_run

from conftest import hold_write_lock

T0 = datetime(2026, 1, 1, 2, 30, tzinfo=timezone.utc)
RULES = ExtractionRules(select=("main",), filters=(BUILTIN_FILTERS["typography"],))
SOURCE = Source(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy", language="en",
                urls=("http://127.0.0.1/policy",), rules=RULES, tags=("chatgpt",))
# Every table a confirmation writes or reads, compared whole.
TABLES = ("sources", "runs", "fetch_outcomes", "snapshots", "blobs", "versions", "version_texts", "ledger_entries",
          "source_locks")


def html(nonce: str) -> bytes:
    return (f"<html><head><script nonce='{nonce}'></script></head><body><main><h1>Privacy</h1>"
            f"<p>We keep your chats for 30 days.</p></main></body></html>").encode()


def page(body: bytes) -> list[RawPage]:
    return [RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", 200, "text/html; charset=utf-8", body)]


class Record:
    def __init__(self, path: Path):
        self.path = path
        self.engine = make_engine(f"sqlite:///{path}")
        upgrade(self.engine)
        self.quick_engine = make_engine(f"sqlite:///{path}", lock_timeout=0.0)
        self.factory, self.quick = session_factory(self.engine), session_factory(self.quick_engine)
        with transaction(self.factory) as session:
            self.run_id = start_run(session, "crawl", T0).id
        self.key: str | None = None

    def prepared(self, body: bytes):  # type: ignore[no-untyped-def]
        prepared = prepare_page(body, RULES, "utf-8", known_key=self.key)
        self.key = prepared.key
        return [prepared]

    def rows(self) -> dict[str, list[tuple]]:
        with sqlite3.connect(self.path) as conn:
            return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}

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
    # A first version, the same page twice with new nonces (confirmed by content keys), the same text in other
    # markup (confirmed by the text's digest), then a change, left to be analysed: on one database through
    # `store_quickly`'s direct path, never opening a Session, on the other through `store_outcome`'s Session.
    direct, session = two
    bodies = [html("a1"), html("b2"), html("c3"), html("d4").replace(b"<p>We keep", b"<p><span>We keep</span>"),
              html("e5").replace(b"30 days", b"90 days")]
    outcomes = []
    for day, body in enumerate(bodies):
        at = T0 + timedelta(days=day, microseconds=day * 1001)
        prepared_direct, prepared_session = direct.prepared(body), session.prepared(body)
        assert (prepared_direct[0].text is None) == (day in (1, 2))  # converted only where the key is new
        with monkeypatch.context() as patched:
            patched.setattr("ingest.record.transaction", _no_session)
            quick = store_quickly(direct.quick, direct.run_id, SOURCE, at, page(body), None, prepared=prepared_direct)
        outcomes.append(None if quick is None else (str(quick.outcome), quick.version_number))
        if quick is None:
            # Left to be analysed, with nothing written: the worker records it through a Session, as it did.
            store_outcome(direct.factory, direct.run_id, SOURCE, at, page(body), None, prepared=prepared_direct)
        through_session = store_outcome(session.factory, session.run_id, SOURCE, at, page(body), None,
                                        prepared=prepared_session)
        assert quick is None or (through_session.outcome, through_session.version_number) == (
            quick.outcome, quick.version_number)
    assert outcomes == [("first", 1), ("unchanged", 1), ("unchanged", 1), ("unchanged", 1), None]
    rows = direct.rows()
    assert rows == session.rows()
    # Four fetches kept after the first page, each a delta against it; two versions and their log entries.
    assert len(rows["snapshots"]) == 5 and sum(1 for blob in rows["blobs"] if blob[2] is not None) == 4
    assert len(rows["versions"]) == 2 and len(rows["ledger_entries"]) == 2
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
        _decided_directly(direct.quick, **fetch)
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
        _decided_directly(direct.quick, **fetch)
    assert direct.rows() == before
    quick = store_quickly(direct.quick, direct.run_id, SOURCE, fetch["at"], fetch["pages"], None, prepared=prepared)
    assert quick is not None and str(quick.outcome) == "failed" and str(quick.failure.kind) == "selector_miss"


def test_a_write_lock_another_writer_holds_is_not_waited_for_and_nothing_is_written(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    before = direct.rows()
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(direct.path, 30, started, release))
    holder.start()
    try:
        assert started.wait(10)
        with pytest.raises(NeedsSession, match="locked"):
            _decided_directly(direct.quick, run_id=direct.run_id, source=SOURCE, at=T0 + timedelta(days=1),
                              pages=page(html("b2")), failure=None, policy=GuardPolicy(),
                              prepared=direct.prepared(html("b2")), claim=None)
        assert store_quickly(direct.quick, direct.run_id, SOURCE, T0 + timedelta(days=1), page(html("b2")), None,
                             prepared=direct.prepared(html("b2"))) is None
    finally:
        release.set()
        holder.join()
    assert direct.rows() == before


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


@pytest.mark.parametrize("use", [
    pytest.param(lambda session: session.get(SourceRow, "x/y"), id="an ORM method"),
    pytest.param(lambda session: session.add(SourceRow(id="x/y")), id="an ORM object"),
    # `tags` has a default worked out at execution (`default=list`): left to SQLAlchemy's execution.
    pytest.param(lambda session: session.execute(insert(SourceRow), {
        "id": "x/y", "vendor": "X", "title": "Y", "document_type": "Terms", "language": "en", "urls": []}),
        id="a default worked out at execution"),
    pytest.param(lambda session: session.execute(select(SourceRow.id).where(SourceRow.id.in_(["a", "b"]))),
                 id="parameters expanded at execution"),
    pytest.param(lambda session: session.execute(insert(SourceRow), {"id": None}), id="a constraint SQLite refuses"),
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
