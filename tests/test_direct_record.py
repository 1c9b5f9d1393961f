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
from ingest.judge import prepare_page
from ingest.record import _confirmed_directly, store_outcome, store_quickly
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.direct import NeedsSession, direct_transaction
from storage.models import SourceRow, Version
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


def test_a_confirmation_on_the_direct_path_records_what_a_session_records(two) -> None:  # type: ignore[no-untyped-def]
    direct, session = two
    for day, nonce in enumerate(["a1", "b2", "c3", "d4"]):
        at = T0 + timedelta(days=day, microseconds=day * 1001)
        body = html(nonce)
        prepared_direct, prepared_session = direct.prepared(body), session.prepared(body)
        if day == 0:
            first = [store_outcome(r.factory, r.run_id, SOURCE, at, page(body), None, prepared=p)
                     for r, p in ((direct, prepared_direct), (session, prepared_session))]
            assert [str(r.outcome) for r in first] == ["first", "first"]
            continue
        confirmed = _confirmed_directly(direct.quick, run_id=direct.run_id, source=SOURCE, at=at, pages=page(body),
                                        prepared=prepared_direct)
        assert confirmed is not None and str(confirmed.outcome) == "unchanged" and confirmed.version_number == 1
        through_session = store_outcome(session.factory, session.run_id, SOURCE, at, page(body), None,
                                        prepared=prepared_session)
        assert (str(through_session.outcome), through_session.version_number) == ("unchanged", 1)
    rows = direct.rows()
    assert rows == session.rows()
    # Three fetches kept, each a delta against the first page, and the version confirmed at the last one.
    assert len(rows["snapshots"]) == 4 and sum(1 for blob in rows["blobs"] if blob[2] is not None) == 3
    with direct.factory() as s:
        assert s.scalar(select(Version.last_confirmed)) == T0 + timedelta(days=3, microseconds=3003)


def test_store_quickly_takes_the_direct_path_and_reads_back_through_the_orm(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    outcomes = []
    for day, nonce in enumerate(["a1", "b2"]):
        quick = store_quickly(direct.quick, direct.run_id, SOURCE, T0 + timedelta(days=day), page(html(nonce)), None,
                              prepared=direct.prepared(html(nonce)))
        outcomes.append(str(quick.outcome) if quick is not None else None)
    assert outcomes == ["first", "unchanged"]
    with direct.factory() as s:
        newest = newest_versions(s, SOURCE.id)
        assert newest[0].last_confirmed == T0 + timedelta(days=1)
        row = s.get_one(SourceRow, SOURCE.id)
        assert (row.urls, row.tags) == (["http://127.0.0.1/policy"], ["chatgpt"])


def test_a_source_whose_row_must_be_written_falls_back_and_nothing_is_left_half_written(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    before = direct.rows()
    renamed = Source(**{**SOURCE.__dict__, "title": "Privacy Policy (renamed)"})
    prepared = direct.prepared(html("b2"))
    at = T0 + timedelta(days=1)
    assert _confirmed_directly(direct.quick, run_id=direct.run_id, source=renamed, at=at, pages=page(html("b2")),
                               prepared=prepared) is None
    assert direct.rows() == before
    # The Session path then records it, the source's row written as declared.
    quick = store_quickly(direct.quick, direct.run_id, renamed, at, page(html("b2")), None, prepared=prepared)
    assert quick is not None and str(quick.outcome) == "unchanged"
    with direct.factory() as s:
        assert s.get_one(SourceRow, SOURCE.id).title == "Privacy Policy (renamed)"


def test_a_write_lock_another_writer_holds_is_not_waited_for_and_nothing_is_written(two) -> None:  # type: ignore[no-untyped-def]
    direct, _ = two
    store_outcome(direct.factory, direct.run_id, SOURCE, T0, page(html("a1")), None, prepared=direct.prepared(html("a1")))
    before = direct.rows()
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(direct.path, 30, started, release))
    holder.start()
    try:
        assert started.wait(10)
        assert _confirmed_directly(direct.quick, run_id=direct.run_id, source=SOURCE, at=T0 + timedelta(days=1),
                                   pages=page(html("b2")), prepared=direct.prepared(html("b2"))) is None
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
