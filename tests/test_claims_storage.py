"""Claim evaluations stored and read back: the engine's values survive the record, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from analysis.claims import ClaimSet, ClaimStatus, SourceInfo, SourceVersion, evaluate, history_events
from analysis.vocabulary import ChangeKind
from ingest.claims import ClaimsPlan, evaluate_claims
from ingest.claims_declarations import load_claims
from ingest.declarations import load_sources
from ingest.record import record_text
from ingest.runs import recorded_run
from storage import claims_queries as queries
from storage import claims_record as record
from storage.claims_models import ClaimEventRow, ClaimEvidenceRow, ClaimMetaRow
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import SourceRow
from storage.record import RawPage, upsert_source
from storage.vocabulary import RunKind

from conftest import REPO

DEMO_CLAIMS = REPO / "policywatch" / "demo_pages" / "claims.yaml"
T0 = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
PG = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")

HELP_1 = ("# Chats\n\nWhen you delete a chat, it is permanently deleted from our systems within 30 days.\n\n"
          "Temporary chats do not appear in your history. We keep a copy for up to 30 days to monitor for abuse, "
          "then delete it.\n")
HELP_2 = HELP_1.replace("up to 30 days to monitor for abuse", "up to 90 days to monitor for abuse")
HELP_3 = HELP_2.replace("When you delete a chat, it is permanently deleted from our systems within 30 days.\n\n", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'claims.db'}")
        upgrade(engine)
        yield session_factory(engine)
        engine.dispose()
        return
    if not PG:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    name = f"pw_claims_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG.rsplit("/", 1)[0] + "/" + name)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def evaluation():  # type: ignore[no-untyped-def]
    claims = ClaimSet(load_claims(DEMO_CLAIMS))
    info = SourceInfo("nimbus/help-chat-retention", "Nimbus AI", "en")
    events = [SourceVersion(info, 1, T0, HELP_1), SourceVersion(info, 2, T0 + timedelta(days=2), HELP_2,
                                                                 ChangeKind.SUBSTANTIVE),
              SourceVersion(info, 3, T0 + timedelta(days=5), HELP_3, ChangeKind.SUBSTANTIVE)]
    return claims, evaluate(claims, history_events({info.id: events}))


def _source(session) -> None:  # type: ignore[no-untyped-def]
    session.add(SourceRow(id="nimbus/help-chat-retention", vendor="Nimbus AI", title="Help", document_type="Help",
                          language="en", urls=["http://127.0.0.1/help"], tags=[]))
    session.flush()


def test_intervals_events_and_states_read_back_as_the_engine_made_them(factory, evaluation) -> None:  # type: ignore[no-untyped-def]
    claims, result = evaluation
    weakened = "nimbus/temporary-chats-deleted-after-30-days"
    timeline = result.timeline(weakened)
    assert [e.status for e in timeline] == [ClaimStatus.SUPPORTED, ClaimStatus.WEAKENED]
    assert any(iv.end is not None for iv in result.intervals), "the fixture has ended intervals"
    with transaction(factory) as session:
        _source(session)
        record.upsert_intervals(session, result.intervals)
        record.set_states(session, result.state.statuses.values(), T0)
        for claim_id in result.timelines:
            record.add_events(session, result.timeline(claim_id), change_ids={}, recorded_at=T0, run_id=None)
        for claim in claims:
            record.declare_claim(session, claim, "engine", T0)
    with transaction(factory) as session:
        assert sorted(queries.intervals(session), key=lambda iv: iv.identity) == \
            sorted(result.intervals, key=lambda iv: iv.identity)
        assert [r.event for r in queries.events(session, weakened)] == list(timeline)
        assert queries.states(session) == result.state.statuses
        assert sorted(iv.identity for iv in queries.open_intervals(session)) == \
            sorted(iv.identity for iv in result.intervals if iv.is_open)
        declared = queries.declarations(session)
        assert set(declared) == set(claims.claims)
        assert declared[weakened].fingerprint == claims[weakened].fingerprint


def test_upsert_by_identity_updates_instead_of_duplicating(factory, evaluation) -> None:  # type: ignore[no-untyped-def]
    _, result = evaluation
    current = next(iv for iv in result.intervals if iv.is_open)
    later = T0 + timedelta(days=30)
    with transaction(factory) as session:
        _source(session)
        record.upsert_intervals(session, [current])
        record.upsert_intervals(session, [replace(current, last_confirmed=later)])
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(ClaimEvidenceRow)) == 1
        (back,) = queries.intervals(session)
        assert back.last_confirmed == later and back.identity == current.identity
        record.confirm_open_intervals(session, [current.source_id], later + timedelta(days=1), [current.claim_id])
        record.confirm_open_intervals(session, [current.source_id], later, [current.claim_id])  # never backwards
    with transaction(factory) as session:
        (back,) = queries.intervals(session)
        assert back.last_confirmed == later + timedelta(days=1)


def test_withdrawn_events_are_kept_and_left_out_of_the_timeline(factory, evaluation) -> None:  # type: ignore[no-untyped-def]
    _, result = evaluation
    claim_id = "nimbus/temporary-chats-deleted-after-30-days"
    with transaction(factory) as session:
        _source(session)
        rows = record.add_events(session, result.timeline(claim_id), change_ids={}, recorded_at=T0, run_id=None)
        revision = record.add_revision(session, claim_id=claim_id, at=T0, reason="declaration_changed", run_id=None,
                                       fingerprint_before="a" * 64, fingerprint_after="b" * 64,
                                       status_before="weakened", status_after="supported")
        record.withdraw_events(session, [rows[-1].id], T0 + timedelta(hours=1), revision.id)
    with transaction(factory) as session:
        assert [r.event.status for r in queries.events(session, claim_id)] == [ClaimStatus.SUPPORTED]
        every = queries.events(session, claim_id, withdrawn=True)
        assert [r.withdrawn_at is not None for r in every] == [False, True]
        assert session.scalar(select(func.count()).select_from(ClaimEventRow)) == 2


def test_the_evaluation_lock_row_is_there_or_made(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        assert record.lock_evaluation(session, T0).id == 1
        session.execute(ClaimMetaRow.__table__.delete())
    with transaction(factory) as session:
        row = record.lock_evaluation(session, T0 + timedelta(seconds=1))
        assert row.evaluated_at == T0 + timedelta(seconds=1) and row.claims_digest is None


def test_the_run_lifecycle_evaluates_what_each_run_recorded(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    declarations = tmp_path / "sources.yaml"
    declarations.write_text(
        "sources:\n  - {id: nimbus/help-chat-retention, vendor: Nimbus AI, title: Help, document_type: Help,\n"
        "     language: en, urls: ['http://127.0.0.1/help']}\n", encoding="utf-8")
    sources = load_sources(declarations)
    plan = ClaimsPlan(DEMO_CLAIMS, sources)
    source = sources["nimbus/help-chat-retention"]
    for day, body in enumerate([HELP_1, HELP_2, HELP_3]):
        at = T0 + timedelta(days=day)
        with recorded_run(factory, RunKind.IMPORT, at, claims=plan) as run_id:
            with transaction(factory) as session:
                upsert_source(session, source)
                record_text(session, run_id=run_id, source_id=source.id, at=at, text=body,
                            pages=[RawPage("u", "u", None, "text/markdown", body.encode())])
    evaluate_claims(factory, plan, T0 + timedelta(days=5))  # nothing new: changes nothing
    with transaction(factory) as session:
        timeline = {cid: [(r.event.status, r.event.announce, r.run_id is not None) for r in queries.events(session, cid)]
                    for cid in ("nimbus/temporary-chats-deleted-after-30-days", "nimbus/deleted-chats-removed-within-30-days")}
        assert timeline == {
            "nimbus/temporary-chats-deleted-after-30-days": [(ClaimStatus.SUPPORTED, False, True),
                                                             (ClaimStatus.WEAKENED, True, True)],
            "nimbus/deleted-chats-removed-within-30-days": [(ClaimStatus.SUPPORTED, False, True),
                                                            (ClaimStatus.NO_LONGER_STATED, True, True)]}
        changes = {r.event.version: r.change_id for r in queries.events(session) if r.event.version and r.event.version > 1}
        assert all(change is not None for change in changes.values()), "events link to the change that caused them"
        assert {c.source_id: c.version for c in queries.cursors(session).values()} == {source.id: 3}
        assert [row.kind for row in queries.evaluations(session)][-1] == "incremental"
