"""Each fetched page is parsed once, and a page whose selected part did not change is not converted again.

Work is counted (parses, conversions, script-shell tests), never timed; the
texts recorded are the same either way. Timings: bench/crawl_speed.py.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.http import HtmlResponse, Request
from sqlalchemy import select

import crawler.ladder as ladder
import ingest.extraction.extract as extract
import ingest.record as ingest_record
from ingest.declarations import Source
from ingest.extraction import BUILTIN_FILTERS, ExtractionRules, extract_html
from ingest.judge import judge_pages, prepare_page
from ingest.record import store_outcome
from ingest.results import FetchFailure
from storage import texts
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.integrity import check as check_record
from storage.models import FetchOutcome, Snapshot, Version
from storage.record import (RawPage, confirmable_keys, lock_source, newest_versions, record_pending, start_run,
                            unlock_source)

from conftest import analyses_while_writable

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RULES = ExtractionRules(select=("main",), remove=("nav",),
                        filters=(BUILTIN_FILTERS["tracking-params"], BUILTIN_FILTERS["typography"]))


def html(nonce: str, tracking: str = "1", wording: str = "We keep your chats for 30 days.") -> bytes:
    return (f"<html><head><script nonce='{nonce}'>window.build='{nonce}'</script></head><body>"
            f"<nav>Menu</nav><main><h1>Privacy</h1><p>{wording}</p>"
            f"<p>See <a href='https://example.test/help?utm_source={tracking}&amp;id=7'>help</a>.</p></main>"
            f"</body></html>").encode()


def source() -> Source:
    return Source(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy", language="en",
                  urls=("http://127.0.0.1/policy",), rules=RULES)


def page(body: bytes) -> RawPage:
    return RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", 200, "text/html; charset=utf-8", body)


class Counts:
    def __init__(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.parses = self.conversions = self.shell_tests = 0
        parse, convert, shell = extract._parse, extract.html_to_markdown, ladder.needs_scripts

        def counted_parse(*args):  # type: ignore[no-untyped-def]
            self.parses += 1
            return parse(*args)

        def counted_convert(*args):  # type: ignore[no-untyped-def]
            self.conversions += 1
            return convert(*args)

        def counted_shell(*args):  # type: ignore[no-untyped-def]
            self.shell_tests += 1
            return shell(*args)

        monkeypatch.setattr(extract, "_parse", counted_parse)
        monkeypatch.setattr(extract, "html_to_markdown", counted_convert)
        monkeypatch.setattr(ladder, "needs_scripts", counted_shell)


@pytest.fixture
def counts(monkeypatch) -> Counts:  # type: ignore[no-untyped-def]
    return Counts(monkeypatch)


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'policywatch.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def response(body: bytes) -> HtmlResponse:
    return HtmlResponse("http://127.0.0.1/policy", status=200, body=body, headers={"Content-Type": "text/html; charset=utf-8"},
                        request=Request("http://127.0.0.1/policy"))


def test_the_ladder_parses_a_page_once_and_hands_its_text_on(counts: Counts) -> None:
    failure, prepared = ladder.blocked(response(html("a1")), source())
    assert failure is None and prepared is not None
    assert (counts.parses, counts.conversions, counts.shell_tests) == (1, 1, 0)
    judged = judge_pages(source(), [page(prepared.body)], prepared=[prepared])
    assert judged.verdict == extract_html(html("a1"), RULES)
    assert counts.parses == 2, "only the reference extraction in this test parsed again"


def test_the_guard_searches_a_page_for_challenge_markers_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ingest.guard as guard

    searched: list[int] = []
    markers = guard._MARKER_BYTES
    monkeypatch.setattr(guard, "_MARKER_BYTES", tuple((vendor, _Counted(found, searched)) for vendor, found in markers))
    failure, prepared = ladder.blocked(response(html("a1")), source())
    assert failure is None and prepared is not None and prepared.screened
    after_ladder = len(searched)
    assert after_ladder > 0
    judged = judge_pages(source(), [page(prepared.body)], prepared=[prepared])
    assert isinstance(judged.verdict, str) and len(searched) == after_ladder
    # Other bytes than the ones the ladder searched are searched again, and so is a page prepared elsewhere.
    judge_pages(source(), [page(bytes(bytearray(prepared.body)))], prepared=[prepared])
    assert len(searched) > after_ladder
    again = len(searched)
    judge_pages(source(), [page(prepared.body)], prepared=[prepare_page(prepared.body, RULES, "utf-8")])
    assert len(searched) > again


class _Counted(tuple):
    """A vendor's markers, counting the searches through them."""

    def __new__(cls, markers, searched):  # type: ignore[no-untyped-def]
        counted = super().__new__(cls, markers)
        counted.searched = searched
        return counted

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.searched.append(1)
        return super().__iter__()


def test_a_screened_page_is_still_refused_for_its_challenge_headers() -> None:
    body = html("a1")
    challenged = replace(page(body), headers={"cf-mitigated": "challenge"})
    prepared = replace(prepare_page(body, RULES, "utf-8"), screened=True)
    judged = judge_pages(source(), [challenged], prepared=[prepared])
    assert isinstance(judged.verdict, FetchFailure) and judged.verdict.kind == "bot_challenge"


def test_the_script_shell_test_runs_only_when_the_selector_finds_nothing(counts: Counts) -> None:
    shell = b"<html><head><script src='/app.js'></script></head><body><div id='root'></div></body></html>"
    failure, prepared = ladder.blocked(response(shell), source())
    assert failure is not None and failure.kind == "selector_miss" and "needs JavaScript" in failure.detail
    assert counts.shell_tests == 1 and prepared is not None and prepared.error is not None


def test_a_page_whose_selected_part_is_unchanged_is_not_converted_again(counts: Counts) -> None:
    first = prepare_page(html("a1", tracking="1"), RULES, "utf-8")
    # Other nonces, another per-request tracking value in a link, and the removed menu changed: the same key.
    again = prepare_page(html("b2", tracking="2").replace(b"Menu", b"Menu 2"), RULES, "utf-8", known_key=first.key)
    assert again.key == first.key and again.text is None
    changed = prepare_page(html("c3", wording="We keep your chats for 90 days."), RULES, "utf-8", known_key=first.key)
    assert changed.key != first.key and changed.text is not None and "90 days" in changed.text
    assert counts.conversions == 2


def test_the_record_reuses_the_current_text_for_an_unchanged_selection_and_stores_the_same(factory, counts: Counts) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    ninety = "We keep your chats for 90 days."
    bodies = [html("a1", "1"), html("b2", "2"), html("c3", "3", ninety), html("d4", "4", ninety), html("e5", "5")]
    results = []
    for day, body in enumerate(bodies):
        conversions = counts.conversions
        outcome = store_outcome(factory, run_id, source(), T0 + timedelta(days=day), [page(body)], None).outcome
        results.append((str(outcome), counts.conversions - conversions))
    assert results == [("first", 1), ("unchanged", 0), ("changed", 1), ("unchanged", 0), ("changed", 1)]
    with transaction(factory) as session:
        stored = list(texts.of_versions(session, session.query(Version).order_by(Version.number)).values())
        keys = [s.content_key for s in session.query(Snapshot).order_by(Snapshot.id)]
    assert stored == [extract_html(bodies[0], RULES), extract_html(bodies[2], RULES), extract_html(bodies[4], RULES)]
    assert keys[0] == keys[1] == keys[4] != keys[2] == keys[3] and None not in keys


def test_a_key_from_another_version_of_the_rules_is_never_taken_for_this_one() -> None:
    other = ExtractionRules(select=("main",), remove=("nav",), filters=(BUILTIN_FILTERS["tracking-params"],))
    assert prepare_page(html("a1"), RULES, "utf-8").key != prepare_page(html("a1"), other, "utf-8").key


def test_a_page_has_the_same_key_whatever_rules_were_keyed_before_it() -> None:
    # Equal rules written out differently (a flag given as 1, not True) each key as they are written, in any
    # order: had the second taken the first's key, its key would depend on what was keyed before it.
    one = ExtractionRules(select=("main",), filters=(replace(BUILTIN_FILTERS["typography"], typography=1),))
    true = ExtractionRules(select=("main",), filters=(replace(BUILTIN_FILTERS["typography"], typography=True),))
    assert one == true and repr(one) != repr(true)
    first = prepare_page(html("a1"), one, "utf-8").key
    second = prepare_page(html("a1"), true, "utf-8").key
    assert first != second
    # And a key is the same on every page keyed with the same rules: what each fetch adds is its own.
    assert prepare_page(html("b2"), true, "utf-8").key == second
    assert prepare_page(html("b2"), one, "utf-8").key == first


SELECTED = ("<main><h1 id='{id}' class='{cls}'>Privacy</h1><p style='{style}' data-build='{id}'>We keep chats "
            "for <a href='{href}'>30 days</a>.</p><img src='{src}' alt='{alt}'><ol start='{start}'><li>One</li></ol>"
            "</main>")
BASE = {"id": "h-1a2b", "cls": "s_9f8e", "style": "", "href": "/retention", "src": "/chart.png", "alt": "A chart",
        "start": "1"}


@pytest.mark.parametrize(("changed", "same_key"), [
    # Attributes the converter never reads, which sites renew on every build: the page reads as unchanged.
    ({"id": "h-77c0"}, True), ({"cls": "s_0000"}, True), ({"style": "color: red"}, True),
    # Everything the converter reads makes a new key.
    ({"href": "/deletion"}, False), ({"src": "/other.png"}, False), ({"alt": "Another chart"}, False),
    ({"start": "3"}, False),
])
def test_a_content_key_covers_the_attributes_the_converter_reads_and_no_others(changed, same_key) -> None:  # type: ignore[no-untyped-def]
    rules = ExtractionRules(select=("main",))

    def selection(values: dict[str, str]) -> tuple[str, str]:
        body = f"<html><body>{SELECTED.format(**values)}</body></html>".encode()
        selected = extract.select_content(body, rules, encoding="utf-8")
        return selected.key, selected.text()

    (key, text), (other_key, other_text) = selection(BASE), selection({**BASE, **changed})
    assert (key == other_key) is same_key
    # The key's promise: equal keys, equal texts (and here, a new key for a new text).
    assert (text == other_text) is same_key


def test_a_crawled_fetch_is_analysed_outside_the_write_transaction_and_nothing_else_is_read_beforehand(
        factory, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ingest.record

    reads: list[str] = []
    reading = ingest.record.reading

    def counted_reading(*args):  # type: ignore[no-untyped-def]
        reads.append("read")
        return reading(*args)

    monkeypatch.setattr(ingest.record, "reading", counted_reading)
    writes = analyses_while_writable(monkeypatch, tmp_path / "policywatch.db")
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    ninety = "We keep your chats for 90 days."
    results = []
    key = None
    for day, body in enumerate([html("a1"), html("b2"), html("c3", wording=ninety)]):
        prepared = prepare_page(body, RULES, "utf-8", known_key=key)
        key = prepared.key
        before = len(reads)
        result = store_outcome(factory, run_id, source(), T0 + timedelta(days=day), [page(body)], None,
                               prepared=[prepared])
        results.append((str(result.outcome), len(reads) - before))
    # A first version and an unchanged one: one write transaction each, no read before it. A change: decided
    # from a read outside the write transaction, its analysis while another writer can write.
    assert results == [("first", 0), ("unchanged", 0), ("changed", 1)]
    assert writes == ["written"]


@pytest.mark.parametrize(("last", "texts_read"), [
    # The same content key: the fetch confirms the current version without any text being read.
    pytest.param(html("c3", wording="We keep your chats for <b>90</b> days."), [], id="same content key"),
    # Other markup, the same text: extracted, its digest compared with the current version's, whose text alone
    # is read; the version before it, which only a changed text is compared with, is not.
    pytest.param(html("c3", wording="We keep your chats for <strong>90</strong> days."), [1], id="same text"),
])
def test_an_unchanged_fetch_reads_at_most_the_current_text(factory, monkeypatch, last, texts_read) -> None:  # type: ignore[no-untyped-def]
    read: list[int] = []
    read_many = texts.read_many

    def counted(session, digests):  # type: ignore[no-untyped-def]
        read.append(len(list(digests)))
        return read_many(session, digests)

    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    key = None
    outcomes = []
    keys = []
    for day, body in enumerate([html("a1"), html("b2", wording="We keep your chats for <b>90</b> days."), last]):
        if day == 2:
            monkeypatch.setattr(texts, "read_many", counted)
        prepared = prepare_page(body, RULES, "utf-8", known_key=key)
        key = prepared.key
        keys.append(key)
        outcomes.append(str(store_outcome(factory, run_id, source(), T0 + timedelta(days=day), [page(body)], None,
                                          prepared=[prepared]).outcome))
    assert outcomes == ["first", "changed", "unchanged"]
    assert (keys[2] == keys[1]) == (texts_read == [])
    assert read == texts_read
    with factory() as session:
        snapshot = session.scalars(select(Snapshot).order_by(Snapshot.id.desc())).first()
        outcome = session.get(FetchOutcome, snapshot.outcome_id)
        version = session.get(Version, outcome.version_id)
        # Kept with its key, against the current version, whose confirmation moved on.
        assert (snapshot.content_key, version.number, version.last_confirmed) == (keys[2], 2, T0 + timedelta(days=2))
    # So the next fetch with that key needs no text either.
    body = html("d4", wording=last.decode().split("<p>")[1].split("</p>")[0])
    prepared = prepare_page(body, RULES, "utf-8", known_key=keys[2])
    read.clear()
    assert str(store_outcome(factory, run_id, source(), T0 + timedelta(days=3), [page(body)], None,
                             prepared=[prepared]).outcome) == "unchanged"
    assert prepared.key == keys[2] and read == []


@pytest.mark.parametrize(("served", "kind"), [
    pytest.param(lambda p: replace(p, final_url="http://127.0.0.1/login"), "login_wall", id="sign-in redirect"),
    pytest.param(lambda p: replace(p, status=206), "truncated", id="partial content"),
    pytest.param(lambda p: replace(p, content_type="application/pdf"), "not_html", id="not HTML"),
])
def test_a_page_with_the_accepted_content_key_is_still_screened(factory, served, kind) -> None:  # type: ignore[no-untyped-def]
    # The current version is confirmed by content keys without its text being read, but only after the fetch
    # guard has passed the pages, as when the text is compared.
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    body = html("a1")
    first = prepare_page(body, RULES, "utf-8")
    assert str(store_outcome(factory, run_id, source(), T0, [page(body)], None, prepared=[first]).outcome) == "first"
    body = html("b2")  # a preparation is the page's only when made from these very bytes
    again = replace(prepare_page(body, RULES, "utf-8", known_key=first.key), screened=True)
    assert again.key == first.key and again.text is None
    result = store_outcome(factory, run_id, source(), T0 + timedelta(days=1), [served(page(body))], None,
                           prepared=[again])
    assert str(result.outcome) == "failed" and result.failure is not None and str(result.failure.kind) == kind


def test_a_held_capture_or_source_keeps_a_fetch_from_being_confirmed_by_its_keys(factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Confirming by content keys reads no text, so it stands aside while a capture held for confirmation counts
    # (one made since the version was last confirmed, which a fetch confirms or drops by comparing texts), and
    # while another run (an import) holds the source.
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
        other = start_run(session, "import", T0).id
    body = html("a1")
    first = prepare_page(body, RULES, "utf-8")
    store_outcome(factory, run_id, source(), T0, [page(body)], None, prepared=[first])
    with transaction(factory) as session:
        current = newest_versions(session, "testco/policy")[0]
        assert confirmable_keys(session, "testco/policy", current, run_id) == (first.key,)
        # The keys of a fetch whose text is not the current version's do not count.
        assert confirmable_keys(session, "testco/policy", SimpleNamespace(id=current.id + 1, last_confirmed=T0),
                                run_id) is None
        assert lock_source(session, "testco/policy", other) is None
    with transaction(factory) as session:
        assert confirmable_keys(session, "testco/policy", current, other) == (first.key,)
        assert confirmable_keys(session, "testco/policy", current, run_id) is None
        unlock_source(session, "testco/policy", other)
    for at, counts in ((T0 - timedelta(hours=1), False), (T0 + timedelta(hours=1), True)):
        with transaction(factory) as session:
            record_pending(session, run_id=run_id, source_id="testco/policy", at=at, pages=[page(html("z9"))],
                           text="Something else entirely.", detail="held for confirmation")
        with transaction(factory) as session:
            assert (confirmable_keys(session, "testco/policy", current, run_id) is None) == counts
    read: list[int] = []
    read_many = texts.read_many
    monkeypatch.setattr(texts, "read_many",
                        lambda session, digests: read.append(len(digests)) or read_many(session, digests))
    body = html("b2")
    again = prepare_page(body, RULES, "utf-8", known_key=first.key)
    result = store_outcome(factory, run_id, source(), T0 + timedelta(days=1), [page(body)], None, prepared=[again])
    # Decided by its text: the current version's read (by each path the fetch takes), and the held capture dropped.
    assert str(result.outcome) == "unchanged" and read and set(read) == {1}
    with factory() as session:
        assert [str(o) for o in session.scalars(select(FetchOutcome.outcome).order_by(FetchOutcome.id))] == [
            "first", "pending", "dropped", "unchanged"]


@pytest.mark.parametrize("positions", [1, 2], ids=["one page", "two pages"])
def test_confirming_by_keys_records_what_comparing_texts_records(tmp_path, monkeypatch, positions) -> None:  # type: ignore[no-untyped-def]
    # Six nights: a first version; the same content (by keys); the same text in other markup (by texts); the
    # same again (by keys); a change; the same again (by keys). Recorded once as a crawl records them and once
    # with every fetch decided by its text, the two records are the same, row for row.
    bold, strong = "We keep your chats for <b>30</b> days.", "We keep your chats for <strong>30</strong> days."
    nights = [bold, bold, strong, strong, "We keep your chats for 60 days.", "We keep your chats for 60 days."]
    multi = replace(source(), urls=tuple(f"http://127.0.0.1/policy/{i}" for i in range(positions)))

    def recorded(name: str) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine)
        factory = session_factory(engine)
        with transaction(factory) as session:
            run_id = start_run(session, "crawl", T0).id
        known: list[str | None] = [None] * positions
        for night, wording in enumerate(nights):
            bodies = [html(f"{night}-{i}", wording=wording if i == 0 else f"Part {i}.") for i in range(positions)]
            fetched = [RawPage(url, url, 200, "text/html; charset=utf-8", body)
                       for url, body in zip(multi.urls, bodies)]
            prepared = [prepare_page(body, RULES, "utf-8", known_key=key) for body, key in zip(bodies, known)]
            store_outcome(factory, run_id, multi, T0 + timedelta(days=night), fetched, None, prepared=prepared)
            known = [p.key for p in prepared]
        engine.dispose()
        with sqlite3.connect(tmp_path / name) as conn:
            return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
                    for table in ("fetch_outcomes", "snapshots", "versions", "version_texts", "blobs", "changes",
                                  "ledger_entries")}

    by_keys = recorded("by-keys.db")
    monkeypatch.setattr(ingest_record, "_confirmed_by_keys", lambda session, **fetch: None)
    by_texts = recorded("by-texts.db")
    assert [o[4] for o in by_keys["fetch_outcomes"]] == ["first", "unchanged", "unchanged", "unchanged", "changed",
                                                         "unchanged"]
    assert by_keys == by_texts


def test_a_fetch_confirmed_by_its_keys_leaves_a_damaged_text_to_check(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The version's text is not read back to confirm it by content keys, so its damage is not met then: the
    # fetch is recorded, and `policywatch check`'s verification of every stored text names the damage.
    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    body = html("a1")
    first = prepare_page(body, RULES, "utf-8")
    store_outcome(factory, run_id, source(), T0, [page(body)], None, prepared=[first])
    with sqlite3.connect(tmp_path / "policywatch.db") as conn:
        sha, data = conn.execute("SELECT sha256, data FROM version_texts").fetchone()
        damaged = bytearray(data)
        damaged[len(damaged) // 2] ^= 0xFF
        conn.execute("UPDATE version_texts SET data = ? WHERE sha256 = ?", (bytes(damaged), sha))
    body = html("b2")
    again = prepare_page(body, RULES, "utf-8", known_key=first.key)
    result = store_outcome(factory, run_id, source(), T0 + timedelta(days=1), [page(body)], None, prepared=[again])
    assert str(result.outcome) == "unchanged"
    assert [p for p in check_record(factory).problems if sha in p], check_record(factory).problems


def test_an_unchanged_fetch_is_recorded_in_nine_statements_without_reading_texts_or_refusals(factory) -> None:  # type: ignore[no-untyped-def]
    # The statements of the night's commonest fetch, each of which costs about as much in SQLAlchemy as in
    # SQLite: a decision that compares only digests reads neither the refusals nor the version before.
    from sqlalchemy import event

    engine = factory.kw["bind"]
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    with transaction(factory) as session:
        run_id = start_run(session, "crawl", T0).id
    key = None
    outcomes = []
    for day, body in enumerate([html("a1"), html("b2")]):
        prepared = prepare_page(body, RULES, "utf-8", known_key=key)
        key = prepared.key
        if day == 1:
            event.listen(engine, "before_cursor_execute", seen)
        outcomes.append(str(store_outcome(factory, run_id, source(), T0 + timedelta(days=day), [page(body)], None,
                                          prepared=[prepared]).outcome))
    event.remove(engine, "before_cursor_execute", seen)
    assert outcomes == ["first", "unchanged"]
    assert not [s for s in statements if "failure_kind" in s], statements
    assert not [s for s in statements if "version_texts" in s], statements
    # The source's row, the latest time of its record (a fetch dated before it is not recorded), its newest
    # versions, the accepted keys with whether a capture is held and which run holds the source; then the outcome,
    # the page (whether stored, and its keyframe), the page, its snapshot, the confirmation. BEGIN is issued on the
    # driver's connection (`storage.db`'s begin event), where this listener does not see it.
    assert len(statements) == 9, "\n".join(statements)


def test_a_screened_page_answered_with_another_status_is_searched_again() -> None:
    # The ladder prepares only pages answered with a success status; the same bytes with a 403 are searched.
    body = html("a1").replace(b"</body>", b"<script>window._cf_chl_opt={}</script></body>")
    prepared = replace(prepare_page(body, RULES, "utf-8"), screened=True)
    refused = replace(page(body), status=403)
    judged = judge_pages(source(), [refused], prepared=[prepared])
    assert isinstance(judged.verdict, FetchFailure) and judged.verdict.kind == "bot_challenge"
    accepted = judge_pages(source(), [page(body)], prepared=[prepared])
    assert isinstance(accepted.verdict, str)


@pytest.mark.parametrize("kind", ["hidden", "HIDDEN", "Hidden"])
def test_a_hidden_input_never_makes_a_page_read_as_new(kind: str) -> None:
    # Forms gain and lose hidden inputs (per-request tokens) from one fetch to the next, whatever the case of their
    # type: they are dropped before the page is keyed.
    def page(extra: str) -> bytes:
        return f"<html><body><main><p>We keep logs.</p><form>{extra}</form></main></body></html>".encode()
    bare = prepare_page(page(""), RULES, "utf-8").key
    assert prepare_page(page(f'<input type="{kind}" name="csrf" value="x">'), RULES, "utf-8").key == bare
    # A visible input is part of what the page shows: one more is another page.
    assert prepare_page(page('<input type="search" name="q">'), RULES, "utf-8").key != bare
