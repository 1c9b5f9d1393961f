"""Version texts stored compressed (storage.texts, migration 0014): exactly the same str back, checked, migrated.

The histories are data (tests/data/version_texts/histories.yaml). The migration is tested on a database made
by the previous revision (0013) with texts in `versions.text`, on SQLite and on PostgreSQL when
POLICYWATCH_TEST_POSTGRES_URL names a server.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from sqlalchemy import MetaData, create_engine, inspect, select, text, update

from ingest.record import record_text
from storage import texts
from storage.blobs import compress
from storage.db import alembic_config, current_revision, make_engine, reading, session_factory, transaction, upgrade
from storage.integrity import check
from storage.models import Version, VersionText
from storage.record import RawPage, start_run, upsert_source
from conftest import fresh_postgres_database

HISTORIES = yaml.safe_load((Path(__file__).parent / "data" / "version_texts" / "histories.yaml").read_text("utf-8"))
WORDS = ("data", "chats", "we", "keep", "delete", "train", "models", "your", "account", "days", "share", "partners",
         "retention", "consent", "cookies", "advertising", "may", "not", "for", "the", "of", "and", "to", "law")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PG_URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")


def build(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if "repeat" in spec:
        body = spec["repeat"] * spec["times"]
    else:
        rng = random.Random(spec["seed"])
        body = " ".join(rng.choice(WORDS) for _ in range(spec["words"]))
    return body + spec.get("then", "")


def history(case: dict[str, Any]) -> list[str]:
    return [build(spec) for spec in case["texts"]]


class Source:
    vendor, title, document_type, language, tags = "Testco", "Policy", "Privacy Policy", "en", []

    def __init__(self, sid: str) -> None:
        self.id, self.urls = sid, [f"https://example.test/{sid}"]


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def store_history(session: Any, sequence: list[str]) -> list[str]:
    """Store texts as the recorder does: each against the keyframe of the one before it."""
    shas: list[str] = []
    for body in sequence:
        keyframe = texts.keyframe_of(session, shas[-1]) if shas else None
        shas.append(texts.store(session, body, keyframe))
    return shas


@pytest.mark.parametrize("case", HISTORIES, ids=[c["name"] for c in HISTORIES])
def test_every_text_comes_back_exactly_and_small_edits_are_stored_as_deltas(factory, case) -> None:  # type: ignore[no-untyped-def]
    sequence = history(case)
    with transaction(factory) as session:
        shas = store_history(session, sequence)
    assert shas == [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in sequence], \
        "a text's key is the sha256 of its uncompressed UTF-8 bytes"
    with reading(factory) as session:
        assert [texts.read(session, sha) for sha in shas] == sequence
        assert texts.read_many(session, shas) == dict(zip(shas, sequence))
        rows = session.scalars(select(VersionText)).all()
        assert len(rows) == len(set(sequence)), "a repeated text is stored once"
        if "keyframes" in case:
            assert sum(r.base_sha256 is None for r in rows) == case["keyframes"]
            assert sum(r.base_sha256 is not None for r in rows) == case["deltas"]
        by_sha = dict(zip(shas, sequence))
        assert {r.sha256: (r.chars, r.size) for r in rows} == {
            sha: (len(t), len(t.encode("utf-8"))) for sha, t in by_sha.items()}
        assert texts.check_all(session).problems == []


def test_a_policy_changing_a_few_words_is_stored_in_a_fraction_of_its_size(factory) -> None:  # type: ignore[no-untyped-def]
    sequence = history(HISTORIES[0])
    with transaction(factory) as session:
        store_history(session, sequence)
    with reading(factory) as session:
        stored = sum(len(r.data) for r in session.scalars(select(VersionText)))
    assert stored < 0.05 * sum(len(t.encode("utf-8")) for t in sequence)


def test_the_recording_path_stores_texts_compressed_and_every_reader_gets_them_back(factory) -> None:  # type: ignore[no-untyped-def]
    sequence = history(HISTORIES[0])
    source = Source("t/policy")
    with transaction(factory) as session:
        upsert_source(session, source)
        run_id = start_run(session, "crawl", T0).id
        for day, body in enumerate(sequence):
            page = RawPage(source.urls[0], source.urls[0], 200, "text/markdown", body.encode("utf-8"))
            record_text(session, run_id=run_id, source_id=source.id, at=T0 + timedelta(days=day), pages=[page],
                        text=body)
    with reading(factory) as session:
        versions = session.scalars(select(Version).order_by(Version.number)).all()
        assert list(texts.of_versions(session, versions).values()) == sequence
        assert texts.by_version_id(session, [v.id for v in versions]) == {v.id: t for v, t in zip(versions, sequence)}
        stored = session.scalars(select(VersionText)).all()
        assert sum(r.base_sha256 is not None for r in stored) == len(sequence) - 1
        assert all(r.chars == len(texts.read(session, r.sha256)) for r in stored)


def _damage_delta(session: Any, shas: list[str]) -> None:
    row = session.get_one(VersionText, shas[1])
    forged = bytes(reversed(texts.read(session, shas[1]).encode("utf-8")))
    row.data, row.base_sha256 = compress(forged, None), None


def _damage_keyframe(session: Any, shas: list[str]) -> None:
    session.get_one(VersionText, shas[0]).data = b"\x28\xb5\x2f\xfd not a frame"


def _damage_chars(session: Any, shas: list[str]) -> None:
    session.get_one(VersionText, shas[2]).chars += 1


def _lose_text(session: Any, shas: list[str]) -> None:
    session.execute(update(Version).where(Version.number == 2).values(sha256="0" * 64))


DAMAGE = [
    (_damage_delta, ["t/policy v2: version text {1}: stored text does not match its sha256"]),
    (_damage_keyframe, ["t/policy v1: version text {0}: its compressed frame declares",
                        "t/policy v2: version text {1}: its keyframe {0} is missing or unreadable"]),
    (_damage_chars, ["t/policy v3: version text {2}: {chars} characters, not the {more} stored"]),
    (_lose_text, ["t/policy v2: its text is missing"]),
]


@pytest.mark.parametrize("damage, expected", DAMAGE, ids=[d.__name__.strip("_") for d, _ in DAMAGE])
def test_check_names_each_version_whose_stored_text_is_damaged(factory, damage, expected) -> None:  # type: ignore[no-untyped-def]
    sequence = history(HISTORIES[0])
    source = Source("t/policy")
    with transaction(factory) as session:
        upsert_source(session, source)
        run_id = start_run(session, "crawl", T0).id
        for day, body in enumerate(sequence):
            page = RawPage(source.urls[0], source.urls[0], 200, "text/markdown", body.encode("utf-8"))
            record_text(session, run_id=run_id, source_id=source.id, at=T0 + timedelta(days=day), pages=[page],
                        text=body)
    assert check(factory).problems == []
    shas = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in sequence]
    with transaction(factory) as session:
        damage(session, shas)
    problems = check(factory).problems
    for line in expected:
        wanted = line.format(*shas, chars=len(sequence[2]), more=len(sequence[2]) + 1)
        assert any(p.startswith(wanted) for p in problems), (wanted, problems)
    if damage is _damage_delta:
        with reading(factory) as session, pytest.raises(texts.TextIntegrityError, match="does not match its sha256"):
            texts.read(session, shas[1])


# The migration, on a database the previous revision made.

@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_URL:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to migrate on")
    with fresh_postgres_database(PG_URL) as url:
        yield url


def old_histories() -> dict[str, list[str]]:
    """Every YAML history as a source, a long one (more versions than the migration converts at once), and a
    source whose texts another source has too."""
    out = {f"t/case-{n}": history(case) for n, case in enumerate(HISTORIES)}
    base = build({"words": 1500, "seed": 7})
    out["t/long"] = [base + "".join(f"\n\nClause {i}." for i in range(n)) for n in range(130)]
    out["t/copy"] = history(HISTORIES[0])[:2]
    return out


def make_old_database(url: str, histories: dict[str, list[str]], *, tamper: str | None = None) -> dict[int, str]:
    """A database at revision 0013 holding these histories in `versions.text`; the texts by version id."""
    command.upgrade(alembic_config(url), "0013")
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=["sources", "runs", "fetch_outcomes", "versions"])
    t = meta.tables
    naive = T0.replace(tzinfo=None)
    expected: dict[int, str] = {}
    with engine.begin() as conn:
        conn.execute(t["runs"].insert().values(id=1, kind="import", status="ok", started_at=naive, sources_checked=0,
                                               new_versions=0, changes=0, failures=0))
        outcome_id = version_id = 0
        for sid, sequence in histories.items():
            conn.execute(t["sources"].insert().values(id=sid, vendor="Testco", title=sid, document_type="Policy",
                                                      language="en", urls=[f"https://example.test/{sid}"], tags=[]))
            for number, body in enumerate(sequence, start=1):
                outcome_id += 1
                version_id += 1
                at = naive + timedelta(days=number)
                conn.execute(t["fetch_outcomes"].insert().values(id=outcome_id, run_id=1, source_id=sid, at=at,
                                                                 outcome="first" if number == 1 else "changed"))
                sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
                if tamper == sid and number == 2:
                    sha = "f" * 64
                conn.execute(t["versions"].insert().values(id=version_id, source_id=sid, number=number, text=body,
                                                           sha256=sha, first_seen=at, last_confirmed=at,
                                                           outcome_id=outcome_id))
                expected[version_id] = body
    engine.dispose()
    return expected


def old_texts(url: str) -> dict[int, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, text FROM versions")).all())
    engine.dispose()
    return found


def test_migration_0014_converts_every_text_and_its_downgrade_restores_them_byte_for_byte(old_url: str) -> None:
    expected = make_old_database(old_url, old_histories())
    assert old_texts(old_url) == expected
    engine = make_engine(old_url)
    assert upgrade(engine) is True
    columns = {c["name"] for c in inspect(engine).get_columns("versions")}
    assert "text" not in columns, "the uncompressed column is gone"
    factory = session_factory(engine)
    with reading(factory) as session:
        stored = dict(session.execute(select(Version.id, Version.sha256)).all())
        found = texts.read_many(session, stored.values())
        for vid, body in expected.items():
            assert found[stored[vid]].encode("utf-8") == body.encode("utf-8"), vid
        rows = session.scalars(select(VersionText)).all()
        assert len(rows) == len(set(expected.values()))
        assert sum(r.base_sha256 is not None for r in rows) > len(rows) // 2, "most texts are deltas"
        assert sum(len(r.data) for r in rows) < 0.1 * sum(len(b.encode("utf-8")) for b in set(expected.values()))
    # Only texts: the old database was made without snapshots, which `check` rightly reports too.
    assert [p for p in check(factory).problems if "text" in p] == []
    engine.dispose()

    command.downgrade(alembic_config(old_url), "0013")
    assert {vid: body.encode("utf-8") for vid, body in old_texts(old_url).items()} == \
        {vid: body.encode("utf-8") for vid, body in expected.items()}
    probe = create_engine(old_url)
    assert "version_texts" not in inspect(probe).get_table_names()
    probe.dispose()
    engine = make_engine(old_url)
    assert upgrade(engine) is True, "it upgrades again after a downgrade"
    with reading(session_factory(engine)) as session:
        assert texts.by_version_id(session, expected) == expected
    engine.dispose()


def test_migration_0014_refuses_a_text_that_does_not_match_its_sha256_and_changes_nothing(old_url: str) -> None:
    histories = {"t/ok": history(HISTORIES[0]), "t/bad": history(HISTORIES[1])}
    expected = make_old_database(old_url, histories, tamper="t/bad")
    engine = make_engine(old_url)
    with pytest.raises(RuntimeError, match=r"t/bad v2: its text does not match its sha256 f{64}"):
        upgrade(engine)
    assert current_revision(engine) == "0013"
    engine.dispose()
    assert old_texts(old_url) == expected
