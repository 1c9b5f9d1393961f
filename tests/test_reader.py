"""The plain-SQL reader (`storage.reader`, what `history`, `show` and `changes` read with) answers every question
exactly as the ORM's queries (`storage.queries`) do, on SQLite and on PostgreSQL.

The record is made as a crawl makes it (`ingest.record.store_outcome`): a change that flags, a revert, a
capture held for confirmation then dropped, failed fetches with and without refused pages, a refused shorter
text, a held capture confirmed (a change with a note) and one still pending, an analysis replaced by `reanalyse`,
and a source with no version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import fresh_postgres_database
from ingest.declarations import Source
from ingest.extraction import ExtractionRules
from ingest.record import store_outcome
from ingest.results import FetchFailure
from storage import ledger, queries, texts
from storage.db import make_engine, plain_connection, reading, session_factory, transaction, upgrade
from storage.models import Change, ChangeAnalysisRow, SourceFields
from storage.reader import Record, reading as plain_reading
from storage.record import RawPage, finish_run, start_run, upsert_source
from storage.vocabulary import FailureKind, RunKind

PG_URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
T0 = datetime(2026, 3, 1, 6, 30, 15, 123456, tzinfo=timezone.utc)
RULES = ExtractionRules(select=("main",))
BASE = " ".join(f"Clause {i}: we describe how we handle your information in section {i}." for i in range(40))
RETENTION = "We keep your chats for 30 days."
OTHER = " ".join(f"Unrelated notice {i} about cookies on a different page entirely." for i in range(45))


def html(*paragraphs: str) -> bytes:
    return ("<html><body><main>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</main></body></html>").encode()


def source(sid: str) -> Source:
    # t/second is one document made of two pages, so each of its fetches keeps two snapshots, in order.
    urls = (f"http://127.0.0.1/{sid}",) + ((f"http://127.0.0.1/{sid}/annex",) if sid == "t/second" else ())
    return Source(id=sid, vendor="Testco", title=f"Policy {sid}", document_type="Privacy Policy", language="en",
                  urls=urls, tags=("chat", "policy"), rules=RULES)


# What each night fetched, per source: a page, or a failure (with or without the page refused).
NIGHTS: dict[str, list[Any]] = {
    "t/policy": [
        html(BASE, RETENTION),
        html(BASE, "We keep your chats for 90 days and use them to train our models."),  # a flagged change
        html(BASE, RETENTION),  # back to version 1: a revert
        FetchFailure(FailureKind.HTTP_ERROR, "HTTP 503", 503),
        (FetchFailure(FailureKind.BOT_CHALLENGE, "a Cloudflare challenge", 403), html("Just a moment…")),
        html(OTHER),  # another document in its place: held for confirmation …
        html(BASE, RETENTION),  # … and dropped when the next fetch does not confirm it
        html("Clause 1."),  # a remnant: refused as too short, its text kept
        FetchFailure(FailureKind.TIMEOUT, "no answer in time"),
        html(OTHER),  # held again, still pending
    ],
    "t/second": [
        html(BASE),
        html(BASE, "We may share your personal data with advertising partners."),
        html(BASE, "We may share your personal data with advertising partners.", "You can delete your account."),
        html(OTHER),  # held for confirmation …
        html(OTHER),  # … and confirmed: a change with a note
    ],
}


def build(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        upsert_source(session, SourceFields(id="t/empty", vendor="Testco", title="Nothing yet",
                                            document_type="Terms", language="de", urls=("http://127.0.0.1/e",)))
    for night in range(max(len(n) for n in NIGHTS.values())):
        at = T0 + timedelta(days=night, seconds=night)
        with transaction(factory) as session:
            run_id = start_run(session, RunKind.CRAWL, at).id
        for sid, fetches in NIGHTS.items():
            if night >= len(fetches):
                continue
            fetched, declared = fetches[night], source(sid)
            failure, body = (fetched, None) if isinstance(fetched, FetchFailure) else (
                fetched if isinstance(fetched, tuple) else (None, fetched))
            pages = [RawPage(url, url, 200, "text/html; charset=utf-8", body if n == 0 else html(f"Annex {night % 2}."))
                     for n, url in enumerate(declared.urls)] if body else []
            store_outcome(factory, run_id, declared, at, pages, failure)
        with transaction(factory) as session:
            finish_run(session, run_id, at + timedelta(minutes=5))
    with transaction(factory) as session:  # an analysis `reanalyse` replaced, kept with the change
        change = session.query(Change).filter_by(source_id="t/second").order_by(Change.id).first()
        assert change is not None
        session.add(ChangeAnalysisRow(change_id=change.id, replaced_at=T0 + timedelta(days=20), kind="substantive",
                                      flags=["sharing"], severity="low", summary="an earlier reading", evidence=[],
                                      words_added=3, words_removed=1, lines_added=1, lines_removed=0))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def recorded(request, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reader') / 'record.db'}"
        build(url)
        yield url
        return
    if not PG_URL:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    with fresh_postgres_database(PG_URL) as url:
        build(url)
        yield url


# Both readers' answers as plain values, attribute by attribute.

def _snapshots(items: Any) -> list[tuple[Any, ...]]:
    return [(s.url, s.final_url, s.http_status, s.content_type, s.fetched_at, s.blob_sha256) for s in items]


def _version(v: Any) -> tuple[Any, ...]:
    return (v.id, v.source_id, v.number, v.sha256, v.first_seen, v.last_confirmed, _snapshots(v.outcome.snapshots))


def _outcome(o: Any) -> tuple[Any, ...]:
    return (o.id, o.run_id, o.at, o.outcome, o.failure_kind, o.detail, o.http_status, o.text_sha256,
            o.version.number if o.version else None, _snapshots(o.snapshots))


def _change_row(r: Any) -> tuple[Any, ...]:
    c, s = r.change, r.source
    return (c.id, c.source_id, c.from_version_id, c.to_version_id, c.detected_at, c.kind, c.words_added,
            c.words_removed, c.lines_added, c.lines_removed, c.flags, c.severity, c.summary, c.evidence, c.analysed,
            c.analysis_note, c.announced, c.note,
            [(a.replaced_at, a.kind, a.flags, a.severity, a.summary, a.words_added, a.words_removed)
             for a in c.previous_analyses],
            (s.id, s.vendor, s.title, s.document_type, s.language, tuple(s.urls), tuple(s.tags)),
            r.from_number, r.to_number, r.reverts_to_number)


def _source(s: Any) -> tuple[Any, ...]:
    return (s.id, s.vendor, s.title, s.document_type, s.language, tuple(s.urls), tuple(s.tags or ()))


@dataclass(frozen=True)
class Case:
    name: str
    orm: Callable[[Any], Any]
    plain: Callable[[Record], Any]


def _text_of(session: Any, version: Any) -> str:
    return texts.of(session, version)


AT = T0 + timedelta(days=2, hours=1)
CASES = [
    Case("a source", lambda s: _source(queries.get_source(s, "t/policy")), lambda r: _source(r.get_source("t/policy"))),
    Case("an unknown source", lambda s: queries.get_source(s, "t/nope"), lambda r: r.get_source("t/nope")),
    Case("versions", lambda s: [_version(v) for v in queries.versions_of(s, "t/policy")],
         lambda r: [_version(v) for v in r.versions_of("t/policy")]),
    Case("no versions", lambda s: list(queries.versions_of(s, "t/empty")), lambda r: r.versions_of("t/empty")),
    Case("versions of an unknown source", lambda s: queries.versions_of(s, "t/nope"), lambda r: r.versions_of("t/nope")),
    Case("version 2", lambda s: _version(queries.version_by_number(s, "t/policy", 2)),
         lambda r: _version(r.version_by_number("t/policy", 2))),
    Case("no version 9", lambda s: queries.version_by_number(s, "t/policy", 9),
         lambda r: r.version_by_number("t/policy", 9)),
    Case("version at a time", lambda s: _version(queries.version_at(s, "t/policy", AT)),
         lambda r: _version(r.version_at("t/policy", AT))),
    Case("version at its exact first sighting", lambda s: _version(queries.version_at(s, "t/second", T0 + timedelta(days=1, seconds=1))),
         lambda r: _version(r.version_at("t/second", T0 + timedelta(days=1, seconds=1)))),
    Case("version at a time in another zone",
         lambda s: _version(queries.version_at(s, "t/policy", AT.astimezone(timezone(timedelta(hours=-5))))),
         lambda r: _version(r.version_at("t/policy", AT.astimezone(timezone(timedelta(hours=-5)))))),
    Case("no version yet at a time", lambda s: queries.version_at(s, "t/policy", T0 - timedelta(days=1)),
         lambda r: r.version_at("t/policy", T0 - timedelta(days=1))),
    Case("latest version", lambda s: _version(queries.latest_version(s, "t/policy")),
         lambda r: _version(r.latest_version("t/policy"))),
    Case("latest of no version", lambda s: queries.latest_version(s, "t/empty"), lambda r: r.latest_version("t/empty")),
    Case("texts", lambda s: [_text_of(s, v) for v in queries.versions_of(s, "t/policy")],
         lambda r: [r.texts([v.sha256])[v.sha256] for v in r.versions_of("t/policy")]),
    Case("outcomes", lambda s: [_outcome(o) for o in queries.outcomes_of(s, "t/policy")],
         lambda r: [_outcome(o) for o in r.outcomes_of("t/policy")]),
    Case("ledger links", lambda s: {n: l.to_json() for n, l in ledger.version_links(s, "t/policy").items()},
         lambda r: {n: l.to_json() for n, l in r.version_links("t/policy").items()}),
    Case("every change", lambda s: [_change_row(c) for c in queries.changes(s)],
         lambda r: [_change_row(c) for c in r.changes(previous_analyses=True)]),
    Case("versions of a document of two pages", lambda s: [_version(v) for v in queries.versions_of(s, "t/second")],
         lambda r: [_version(v) for v in r.versions_of("t/second")]),
    Case("outcomes of a document of two pages", lambda s: [_outcome(o) for o in queries.outcomes_of(s, "t/second")],
         lambda r: [_outcome(o) for o in r.outcomes_of("t/second")]),
    Case("changes of a source", lambda s: [_change_row(c) for c in queries.changes(s, "t/second")],
         lambda r: [_change_row(c) for c in r.changes("t/second", previous_analyses=True)]),
    Case("changes of an unknown source", lambda s: queries.changes(s, "t/nope"), lambda r: r.changes("t/nope")),
    Case("changes of two sources", lambda s: [_change_row(c) for c in queries.changes(s, ["t/second", "t/policy"])],
         lambda r: [_change_row(c) for c in r.changes(["t/second", "t/policy"], previous_analyses=True)]),
    Case("changes of a known and an unknown source", lambda s: queries.changes(s, ["t/policy", "t/nope"]),
         lambda r: r.changes(["t/policy", "t/nope"])),
    Case("changes since", lambda s: [_change_row(c) for c in queries.changes(s, since=T0 + timedelta(days=2, seconds=2))],
         lambda r: [_change_row(c) for c in r.changes(since=T0 + timedelta(days=2, seconds=2), previous_analyses=True)]),
    Case("changes by flag", lambda s: [_change_row(c) for c in queries.changes(s, flags=["sharing", "training"])],
         lambda r: [_change_row(c) for c in r.changes(flags=["sharing", "training"], previous_analyses=True)]),
    Case("changes by severity", lambda s: [_change_row(c) for c in queries.changes(s, severities=["high", "none"])],
         lambda r: [_change_row(c) for c in r.changes(severities=["high", "none"], previous_analyses=True)]),
]


def _answer(ask: Callable[[], Any]) -> Any:
    try:
        return ask()
    except queries.NotFound as exc:
        return ("NotFound", str(exc))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_plain_reader_answers_as_the_orm_queries(recorded: str, case: Case) -> None:
    engine = make_engine(recorded)
    try:
        with reading(session_factory(engine)) as session:
            expected = _answer(lambda: case.orm(session))
    finally:
        engine.dispose()
    plain = plain_connection(recorded)
    assert plain is not None, "an up-to-date database opens without SQLAlchemy"
    with plain_reading(plain) as record:
        assert _answer(lambda: case.plain(record)) == expected


def test_the_recorded_history_has_what_the_cases_are_about(recorded: str) -> None:
    plain = plain_connection(recorded)
    assert plain is not None
    with plain_reading(plain) as record:
        outcomes = [o.outcome if o.outcome != "failed" else o.failure_kind for o in record.outcomes_of("t/policy")]
        changes = record.changes(previous_analyses=True)
        assert {c.source.id for c in record.changes(["t/second", "t/policy"])} == {"t/second", "t/policy"}
    assert outcomes == ["first", "changed", "changed", "http_error", "bot_challenge", "dropped", "unchanged",
                        "too_short", "timeout", "pending"]
    assert [c.change.kind for c in changes if c.source.id == "t/policy"] == ["revert", "substantive"]
    assert any(c.change.note for c in changes)
    with plain_reading(plain_connection(recorded)) as record:  # type: ignore[arg-type]
        assert {len(o.snapshots) for o in record.outcomes_of("t/second")} == {2}
    assert {flag for c in changes for flag in c.change.flags} >= {"sharing"}
    assert len({c.change.severity for c in changes}) > 1
    assert any(c.change.previous_analyses for c in changes)


def test_an_older_schema_is_left_to_sqlalchemys_path(tmp_path: Path) -> None:
    """A database whose schema is not the newest is opened by the commands through `Context.engine`, which
    upgrades it and says so, exactly as before."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    build(url)
    import sqlite3

    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("update alembic_version set version_num = 'not-the-newest'")
    assert plain_connection(url) is None
    assert plain_connection(f"sqlite:///{tmp_path / 'missing.db'}") is None
    assert plain_connection(f"sqlite:///{tmp_path / 'old.db'}?mode=ro") is None  # another form of URL
