"""Storage on a real SQLite file: schema by Alembic, blobs, versions, changes."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from storage import blobs
from storage.db import current_revision, head_revision, make_engine, session_factory, transaction, upgrade
from storage.models import Base, Blob, Change, Snapshot, Version
from storage.record import RawPage, finish_run, record_failure, start_run, upsert_source
from ingest.record import record_text

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeSource:
    id = "testco/policy"
    vendor = "Testco"
    title = "Policy"
    document_type = "Privacy Policy"
    language = "en"
    urls = ["http://127.0.0.1/policy"]
    tags = ["t"]


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def page(body: bytes) -> RawPage:
    return RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", 200, "text/html", body)


def noisy_page(text: str, nonce: int) -> bytes:
    filler = "".join(f"<p>Section {i}: we keep what we keep and say so plainly.</p>" for i in range(400))
    return (f"<html><head><script nonce='{nonce:032x}'>build={nonce}</script></head>"
            f"<body><main><p>{text}</p>{filler}</main></body></html>").encode()


def test_alembic_upgrade_and_downgrade_on_empty_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    for target in ("upgrade head", "downgrade base", "upgrade head"):
        subprocess.run([sys.executable, "-m", "alembic", "-x", f"db=sqlite:///{db}", *target.split()],
                       cwd=REPO, check=True, capture_output=True)
        tables = set(inspect(make_engine(f"sqlite:///{db}")).get_table_names())
        if target.startswith("upgrade"):
            assert {"sources", "runs", "blobs", "snapshots", "versions", "changes", "fetch_outcomes"} <= tables
        else:
            assert tables <= {"alembic_version"}


def _built_apart(url: str, how: str) -> None:
    """A schema built in a fresh interpreter, as a command builds it: nothing earlier tests did to this process
    (its modules, SQLAlchemy's registries) reaches it."""
    code = {"created": "from storage.db import make_engine, upgrade; assert upgrade(make_engine(URL)) is True",
            "migrated": "from alembic import command; from storage.db import alembic_config; "
                        "command.upgrade(alembic_config(URL), 'head')"}[how]
    subprocess.run([sys.executable, "-c", f"URL = {url!r}; {code}"], cwd=REPO, check=True, capture_output=True,
                   timeout=120)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _built_apart(url, "migrated")
    engine = make_engine(url)
    assert upgrade(engine) is False
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def _described(url: str) -> dict[str, object]:
    """Everything a schema holds that the record depends on, and every row, told apart by name (a column's place
    in its table aside: migrations add columns at the end)."""
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        described: dict[str, object] = {}
        with engine.connect() as conn:
            for name in inspector.get_table_names():
                described[name] = {
                    "columns": {column["name"]: repr(sorted((k, repr(v)) for k, v in column.items()))
                                for column in inspector.get_columns(name)},
                    "primary key": repr(inspector.get_pk_constraint(name)),
                    "foreign keys": sorted(map(repr, inspector.get_foreign_keys(name))),
                    "indexes": sorted(map(repr, inspector.get_indexes(name))),
                    "unique": sorted(map(repr, inspector.get_unique_constraints(name))),
                    "checks": sorted(map(repr, inspector.get_check_constraints(name))),
                    "rows": sorted(map(repr, conn.execute(text(f'SELECT * FROM "{name}"')).all())),
                }
            described["views"] = sorted(inspector.get_view_names())
            if engine.dialect.name == "sqlite":
                described["triggers"] = conn.execute(text(
                    "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).all()
            else:
                described["triggers"] = conn.execute(text(
                    "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")).all()
                described["sequences"] = sorted(inspector.get_sequence_names())
        return described
    finally:
        engine.dispose()


def test_a_new_database_is_the_one_the_migrations_build(db_url: str, tmp_path: Path) -> None:
    # A new SQLite file is created from the models at once and stamped (Alembic's cookbook); it must be what
    # running every migration builds: same tables, columns, keys, indexes, constraints, triggers and rows. A new
    # PostgreSQL database runs the migrations, and must be what they build on an empty one too.
    _built_apart(db_url, "created")
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    if db_url.startswith("sqlite"):
        migrated_url = f"sqlite:///{tmp_path / 'migrated.db'}"
        _built_apart(migrated_url, "migrated")
        migrated = _described(migrated_url)
    else:
        from conftest import fresh_postgres_database

        with fresh_postgres_database(os.environ["POLICYWATCH_TEST_POSTGRES_URL"]) as migrated_url:
            _built_apart(migrated_url, "migrated")
            migrated = _described(migrated_url)
    created = _described(db_url)
    assert set(created) == set(migrated)
    for name in sorted(created):
        if created[name] != migrated[name] and isinstance(created[name], dict):
            differing = {part: (value, migrated[name][part])  # type: ignore[index]
                         for part, value in created[name].items() if value != migrated[name][part]}  # type: ignore[index]
            raise AssertionError(f"{name}: created, migrated: {differing}")
        assert created[name] == migrated[name], name


def test_versions_only_when_text_differs(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        first = record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0, pages=[page(b"<p>a</p>")], text="We keep data 30 days.\n")
        same = record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0 + timedelta(days=1),
                              pages=[page(b"<p>a</p><!-- build 2 -->")], text="We keep data 30 days.\n")
        changed = record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0 + timedelta(days=2),
                                 pages=[page(b"<p>b</p>")], text="We keep data 90 days.\n")
        failed = record_failure(s, run_id=run.id, source_id=FakeSource.id, at=T0 + timedelta(days=3),
                                kind="http_error", detail="HTTP 500", http_status=500)
        finished = finish_run(s, run.id, T0 + timedelta(days=3))
    assert (first.outcome, same.outcome, changed.outcome, failed.outcome) == ("first", "unchanged", "changed", "failed")
    assert finished.status == "partial" and finished.failures == 1 and finished.new_versions == 2
    with transaction(factory) as s:
        versions = s.scalars(select(Version).order_by(Version.number)).all()
        assert [v.number for v in versions] == [1, 2]
        assert versions[0].last_confirmed == T0 + timedelta(days=1)
        assert versions[0].first_seen.tzinfo is not None
        change = s.scalars(select(Change)).one()
        assert (change.words_added, change.words_removed, change.kind) == (1, 1, "substantive")
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 3


@pytest.mark.parametrize("outcomes, unrecorded, status", [
    (["recorded"], 0, "ok"),
    # Sources the database would not take have no outcome, but the run did not record them: never "ok".
    (["recorded"], 2, "partial"),
    ([], 2, "failed"),
    (["failed"], 1, "failed"),
])
def test_a_run_with_sources_left_unrecorded_is_not_ok(factory, outcomes, unrecorded, status) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        for kind in outcomes:
            if kind == "failed":
                record_failure(s, run_id=run.id, source_id=FakeSource.id, at=T0, kind="http_error", detail="HTTP 500")
            else:
                record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0, pages=[page(b"<p>a</p>")],
                            text="We keep data 30 days.\n")
        finished = finish_run(s, run.id, T0 + timedelta(hours=1), unrecorded)
    # The counts are the outcomes'; the unrecorded sources are named by the command that met them.
    assert (finished.status, finished.sources_checked) == (status, len(outcomes))


def test_returning_to_a_recent_text_is_a_revert(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        for day, text in enumerate(["A text.\n", "B text.\n", "A text.\n"]):
            record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0 + timedelta(days=day),
                           pages=[page(text.encode())], text=text)
        kinds = [c.kind for c in s.scalars(select(Change).order_by(Change.id))]
    assert kinds == ["substantive", "revert"]


def test_every_snapshot_of_a_100_fetch_history_reads_back_exactly(factory) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    bodies: dict[int, bytes] = {}
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        text = "original"
        for i in range(100):
            if rng.random() < 0.1:
                text = f"edition {i}"
            body = noisy_page(text, rng.getrandbits(128)) if rng.random() < 0.9 else rng.randbytes(3000)
            outcome = record_text(s, run_id=run.id, source_id=FakeSource.id, at=T0 + timedelta(hours=i),
                                     pages=[page(body)], text=text + "\n")
            bodies[outcome.snapshots[0].id if outcome.snapshots else i] = body
    with transaction(factory) as s:
        snapshots = s.scalars(select(Snapshot).order_by(Snapshot.id)).all()
        assert len(snapshots) == 100
        for snap in snapshots:
            raw = blobs.read(s, snap.blob_sha256)
            assert blobs.sha256_hex(raw) == snap.blob_sha256
            assert raw == bodies[snap.id]
        # deltas are taken against keyframes only: never a chain longer than one
        for blob in s.scalars(select(Blob).where(Blob.base_sha256.is_not(None))):
            assert s.get(Blob, blob.base_sha256).base_sha256 is None


def test_identical_raw_pages_are_stored_once_and_noise_costs_little(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        a = blobs.store(s, noisy_page("x", 1), None)
        again = blobs.store(s, noisy_page("x", 1), None)
        b = blobs.store(s, noisy_page("x", 2), a.sha256)
        assert again.new is False and again.sha256 == a.sha256
        assert s.scalar(select(func.count()).select_from(Blob)) == 2
        assert s.get(Blob, b.sha256).base_sha256 == a.sha256
        assert b.stored_bytes < a.stored_bytes / 5


def page_body(text: str, nonce: int) -> bytes:
    """`noisy_page`, or for a text starting "other" bytes that have nothing in common with it."""
    if text.startswith("other"):
        return random.Random(text).randbytes(30_000) + f"<!-- {nonce} -->".encode()
    return noisy_page(text, nonce)


# Fetches of one source, in order: ("ok" | "refused", the page bodies by position as (text, nonce), see
# `page_body`); then, for each fetch's pages, the fetch and position whose page is its keyframe (None: stored on
# its own).
KEYFRAME_CASES = {
    "every accepted page against the first": ([("ok", [("a", 1)]), ("ok", [("a", 2)]), ("ok", [("b", 3)])],
                                              [[None], [(0, 0)], [(0, 0)]]),
    "the newest accepted page's keyframe": ([("ok", [("a", 1)]), ("ok", [("other", 2)]), ("ok", [("other", 3)])],
                                            [[None], [None], [(1, 0)]]),
    "a refused page is never a keyframe": ([("refused", [("x", 1)]), ("ok", [("a", 2)]), ("ok", [("a", 3)])],
                                           [[None], [None], [(1, 0)]]),
    "a refused page is kept against the accepted one": ([("ok", [("a", 1)]), ("refused", [("a", 2)]),
                                                         ("ok", [("a", 3)])], [[None], [(0, 0)], [(0, 0)]]),
    "each position against its own": ([("ok", [("a", 1), ("z", 1)]), ("ok", [("a", 2), ("z", 2)])],
                                      [[None, None], [(0, 0), (0, 1)]]),
    "the same bytes again are the same blob": ([("ok", [("a", 1)]), ("ok", [("a", 1)])], [[None], [None]]),
}


@pytest.mark.parametrize("fetches, keyframes", KEYFRAME_CASES.values(), ids=KEYFRAME_CASES.keys())
def test_a_page_is_compressed_against_the_keyframe_of_the_newest_accepted_page_at_its_position(
        db_url: str, fetches, keyframes) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    factory = session_factory(engine)
    shas: list[list[str]] = []
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        for day, (kind, bodies) in enumerate(fetches):
            pages = [page(page_body(text, nonce)) for text, nonce in bodies]
            shas.append([blobs.sha256_hex(p.body) for p in pages])
            at = T0 + timedelta(days=day)
            if kind == "ok":
                record_text(s, run_id=run.id, source_id=FakeSource.id, at=at, pages=pages, text=bodies[0][0])
            else:
                record_failure(s, run_id=run.id, source_id=FakeSource.id, at=at, kind="too_short", detail="",
                               pages=pages)
    with transaction(factory) as s:
        found = [[s.get_one(Blob, sha).base_sha256 for sha in fetch] for fetch in shas]
        assert found == [[shas[k[0]][k[1]] if k is not None else None for k in fetch] for fetch in keyframes]
        assert s.scalar(select(func.count()).select_from(Snapshot)) == sum(len(b) for _, b in fetches)
        assert s.scalar(select(func.count()).select_from(Blob)) == len({sha for fetch in shas for sha in fetch})
    engine.dispose()


def test_corrupted_blob_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        stored = blobs.store(s, b"<p>original bytes</p>" * 20, None)
        s.get(Blob, stored.sha256).data = blobs.compress(b"<p>tampered bytes</p>" * 20, None)
        s.flush()
        with pytest.raises(blobs.BlobIntegrityError, match="do not match"):
            blobs.read(s, stored.sha256)


def test_naive_datetimes_are_refused(factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive datetime"):
        with transaction(factory) as s:
            upsert_source(s, FakeSource)
            start_run(s, "crawl", datetime(2026, 1, 1))
            s.flush()


def test_times_written_again_and_again_read_back_as_the_instants_they_are(db_url: str) -> None:
    """Times repeat over a night's rows (`UTCDateTime` remembers how it wrote the recent ones): every time still
    reads back as its own instant, the same instant given in another zone included, however many times were
    written between, and a naive time is refused each time it comes."""
    from zoneinfo import ZoneInfo

    from storage.models import REMEMBERED_TIMES, Run

    plus_two = timezone(timedelta(hours=2))
    many = [T0 + timedelta(seconds=i, microseconds=i) for i in range(REMEMBERED_TIMES * 2 + 10)]
    # 01:30 in New York on 2026-11-01 happens twice; the two are equal to Python (same zone, same wall clock).
    twice = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    written = [T0, T0.astimezone(plus_two), T0 + timedelta(microseconds=1), *many, T0, many[0].astimezone(plus_two),
               datetime(2026, 1, 1, 2, tzinfo=plus_two), T0.replace(tzinfo=plus_two), many[-1], T0 - timedelta(days=365 * 30),
               twice, twice.replace(fold=1), twice, twice.replace(fold=1), twice.astimezone(timezone.utc)]
    engine = make_engine(db_url)
    upgrade(engine)
    factory = session_factory(engine)
    try:
        with transaction(factory) as s:
            ids = [start_run(s, "crawl", at).id for at in written]
        for _ in range(2):
            with pytest.raises(Exception, match="naive datetime"):
                with transaction(factory) as s:
                    start_run(s, "crawl", T0.replace(tzinfo=None))
        with factory() as s:
            read = dict(s.execute(select(Run.id, Run.started_at)).all())
        # As instants: Python compares a time with `fold` set by its wall clock alone.
        assert [read[i].timestamp() for i in ids] == [at.timestamp() for at in written]
        assert read[ids[-2]] - read[ids[-3]] == timedelta(hours=1)  # the second 01:30 after the first
        assert [read[i].utcoffset() for i in ids] == [timedelta(0)] * len(written)
        assert len(read) == len(written)  # the refused rows were not written
    finally:
        engine.dispose()


def _fresh_nonces(body: bytes, seed: int) -> bytes:
    """The page as served on another night: its 40 longest hashes and nonces (as in bench/storage_growth.py)
    replaced by new values of the same length."""
    import re

    rng = random.Random(seed)
    tokens = sorted({t for t in re.findall(rb"[0-9a-f]{16,}|[A-Za-z0-9_-]{20,}={0,2}", body) if re.search(rb"\d", t)},
                    key=lambda t: (len(t), t))[-40:]
    for token in tokens:
        body = body.replace(token, bytes(rng.choice(b"0123456789abcdef") for _ in token))
    return body


def test_a_real_page_fetched_again_with_new_nonces_costs_about_a_kilobyte(factory, shared: Path) -> None:  # type: ignore[no-untyped-def]
    import zstandard

    snapshots = sorted((shared / "ota-data" / "snapshots").rglob("*.html"))
    sizes = []
    with transaction(factory) as s:
        for path in snapshots:
            before, after = _fresh_nonces(path.read_bytes(), 1), _fresh_nonces(path.read_bytes(), 2)
            first = blobs.store(s, before, None)
            again = blobs.store(s, after, first.sha256)
            assert again.new and s.get(Blob, again.sha256).base_sha256 == first.sha256, path.name
            assert blobs.read(s, again.sha256) == after
            # no larger than zstd's level 12 made it (what policywatch used before it compressed for speed)
            dictionary = zstandard.ZstdCompressionDict(before, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            level_12 = len(zstandard.ZstdCompressor(level=12, dict_data=dictionary).compress(after))
            assert again.stored_bytes <= 1.1 * level_12, path.name
            sizes.append(again.stored_bytes)
    assert sum(sizes) / len(sizes) <= 1500


def test_blobs_written_with_the_earlier_compression_settings_read_back(factory) -> None:  # type: ignore[no-untyped-def]
    import zstandard

    keyframe, page_ = noisy_page("x", 1), noisy_page("x", 2)
    dictionary = zstandard.ZstdCompressionDict(keyframe, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    with transaction(factory) as s:
        # What policywatch stored before: level 12, the keyframe as a raw-content dictionary.
        s.add(Blob(sha256=blobs.sha256_hex(keyframe), size=len(keyframe), base_sha256=None,
                   data=zstandard.ZstdCompressor(level=12).compress(keyframe)))
        s.add(Blob(sha256=blobs.sha256_hex(page_), size=len(page_), base_sha256=blobs.sha256_hex(keyframe),
                   data=zstandard.ZstdCompressor(level=12, dict_data=dictionary).compress(page_)))
        s.flush()
        assert blobs.read(s, blobs.sha256_hex(page_)) == page_
        # and a new delta against that old keyframe reads back too
        third = noisy_page("x", 3)
        stored = blobs.store(s, third, blobs.sha256_hex(keyframe))
        assert s.get(Blob, stored.sha256).base_sha256 == blobs.sha256_hex(keyframe)
        assert blobs.read(s, stored.sha256) == third


@pytest.mark.parametrize("keyframe", [b"k", b"keyfram", b"keyframe", b"keyframe!", noisy_page("x", 1)],
                         ids=["1 byte", "7 bytes", "8 bytes", "9 bytes", "a page"])
def test_a_delta_against_its_keyframe_is_plain_zstd_read_back_with_the_keyframe_as_a_dictionary(
        factory, keyframe: bytes) -> None:  # type: ignore[no-untyped-def]
    import zstandard

    # A short page is a delta whatever it compresses to (at most 256 bytes); a history under 8 bytes is left out.
    page_ = noisy_page("x", 2) if len(keyframe) > 64 else keyframe + b" and a short page of its own after it"
    with transaction(factory) as s:
        base = blobs.store(s, keyframe, None)
        stored = blobs.store(s, page_, base.sha256)
        row = s.get_one(Blob, stored.sha256)
        assert row.base_sha256 == base.sha256
        assert blobs.read(s, stored.sha256) == page_
        # what another zstd reader makes of it, the keyframe as a raw-content dictionary: the same bytes
        dictionary = zstandard.ZstdCompressionDict(keyframe, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        assert zstandard.ZstdDecompressor(dict_data=dictionary).decompress(row.data) == page_


@pytest.mark.parametrize("keyframe", [b"k", b"keyfram", b"keyframe", noisy_page("x", 1)],
                         ids=["1 byte", "7 bytes", "8 bytes", "a page"])
def test_pages_and_texts_stored_against_a_dictionary_before_read_back(factory, keyframe: bytes) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    import zstandard

    from storage import texts
    from storage.models import VersionText

    # What policywatch stored before: python-zstandard, the keyframe as a raw-content dictionary of any length.
    later = keyframe + b" and what came after it, stored against it"
    dictionary = zstandard.ZstdCompressionDict(keyframe, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    delta = zstandard.ZstdCompressor(level=3, dict_data=dictionary).compress(later)
    alone = zstandard.ZstdCompressor(level=3).compress(keyframe)
    with transaction(factory) as s:
        s.add(Blob(sha256=blobs.sha256_hex(keyframe), size=len(keyframe), base_sha256=None, data=alone))
        s.add(Blob(sha256=blobs.sha256_hex(later), size=len(later), base_sha256=blobs.sha256_hex(keyframe), data=delta))
        base_text, text_sha = hashlib.sha256(keyframe).hexdigest(), hashlib.sha256(later).hexdigest()
        s.add(VersionText(sha256=base_text, size=len(keyframe), chars=len(keyframe), base_sha256=None, data=alone))
        s.add(VersionText(sha256=text_sha, size=len(later), chars=len(later), base_sha256=base_text, data=delta))
        s.flush()
        assert blobs.read(s, blobs.sha256_hex(later)) == later
        assert texts.read(s, text_sha) == later.decode("utf-8")


def test_a_frame_with_another_appended_is_damaged_not_read_past(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        stored = blobs.store(s, noisy_page("x", 1), None)
        row = s.get_one(Blob, stored.sha256)
        row.data = row.data + blobs.compress(b"more text after the page", None)
        s.flush()
        with pytest.raises(blobs.BlobIntegrityError, match="bytes follow its frame"):
            blobs.read(s, stored.sha256)


def _old_style_frame(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=12).compress(data)  # what keyframes were before: no content checksum


def _flip_middle_byte(frame: bytes) -> bytes:
    return frame[:len(frame) // 2] + bytes([frame[len(frame) // 2] ^ 0x20]) + frame[len(frame) // 2 + 1:]


@pytest.mark.parametrize("damage", [
    # a keyframe written now carries zstd's checksum: a changed byte fails decompression
    lambda keyframe: _flip_middle_byte(blobs.compress(keyframe, None)),
    # the checksum itself changed (the last 4 bytes): only the checksum can tell
    lambda keyframe: blobs.compress(keyframe, None)[:-1] + bytes([blobs.compress(keyframe, None)[-1] ^ 0x01]),
    # bytes after the frame
    lambda keyframe: blobs.compress(keyframe, None) + b"\x00",
    # one written before carries none: bytes that decompress to something else fail the sha256
    lambda keyframe: _old_style_frame(keyframe.replace(b"Section 7", b"Section 8")),
    # and one that is not zstd at all
    lambda keyframe: b"not a zstd frame",
], ids=["with checksum, a byte changed", "its checksum changed", "bytes after the frame",
        "without checksum, other bytes", "not zstd"])
def test_a_page_is_stored_on_its_own_when_its_keyframe_is_damaged(factory, damage, caplog) -> None:  # type: ignore[no-untyped-def]
    from storage.frames import carries_checksum

    keyframe, page_ = noisy_page("x", 1), noisy_page("x", 2)
    assert carries_checksum(blobs.compress(keyframe, None)) and not carries_checksum(_old_style_frame(keyframe))
    with transaction(factory) as s:
        s.add(Blob(sha256=blobs.sha256_hex(keyframe), size=len(keyframe), base_sha256=None, data=damage(keyframe)))
        s.flush()
        stored = blobs.store(s, page_, blobs.sha256_hex(keyframe))
        assert s.get_one(Blob, stored.sha256).base_sha256 is None
        assert blobs.read(s, stored.sha256) == page_
    assert "cannot be read" in caplog.text


def test_an_intact_keyframe_of_either_kind_takes_deltas(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        for n, frame in enumerate((blobs.compress, lambda data, _: _old_style_frame(data))):
            keyframe, page_ = noisy_page(f"k{n}", 1), noisy_page(f"k{n}", 2)
            s.add(Blob(sha256=blobs.sha256_hex(keyframe), size=len(keyframe), base_sha256=None,
                       data=frame(keyframe, None)))
            s.flush()
            stored = blobs.store(s, page_, blobs.sha256_hex(keyframe))
            assert s.get_one(Blob, stored.sha256).base_sha256 == blobs.sha256_hex(keyframe)
            assert blobs.read(s, stored.sha256) == page_


def _keyed(body: bytes, key: str) -> RawPage:
    return RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", 200, "text/html", body, content_key=key)


# What a source's record holds before a night, as (step, key) in order: the crawler compares a page with the keys
# of the latest accepted fetch only while that fetch's text is the current version.
@pytest.mark.parametrize("steps, expected", [
    ([], None),
    ([("accept", "k1")], ("k1",)),
    ([("accept", "k1"), ("accept", "k2")], ("k2",)),
    ([("accept", "k1"), ("fail", None)], ("k1",)),  # a failure is no fetch to compare with
    ([("accept", "k1"), ("hold", "k2")], None),  # a held capture's text is not the current version
    ([("fail", None)], None),
], ids=["nothing recorded", "one version", "the latest of two", "a failure after", "a capture held", "only a failure"])
def test_the_keys_a_night_compares_pages_with_are_the_latest_accepted_fetchs_while_its_text_is_current(
        db_url: str, steps, expected) -> None:  # type: ignore[no-untyped-def]
    from ingest.record import accepted_keys_by_source
    from storage.record import accepted_content_keys, current_accepted_content_keys, current_version_id

    engine = make_engine(db_url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        upsert_source(s, FakeSource)
        run = start_run(s, "crawl", T0)
        for day, (step, key) in enumerate(steps):
            at = T0 + timedelta(days=day)
            body = f"<p>{day}</p>".encode()
            if step == "accept":
                record_text(s, run_id=run.id, source_id=FakeSource.id, at=at, pages=[_keyed(body, key)],
                            text=f"We keep data {day + 1} days, and say so.\n")
            elif step == "hold":
                from storage.record import record_pending

                record_pending(s, run_id=run.id, source_id=FakeSource.id, at=at, pages=[_keyed(body, key)],
                               text="Something else entirely.\n", detail="held")
            else:
                record_failure(s, run_id=run.id, source_id=FakeSource.id, at=at, kind="http_error", detail="500")
        s.flush()
        assert current_accepted_content_keys(s, FakeSource.id) == expected
        assert accepted_content_keys(s, FakeSource.id, current_version_id(s, FakeSource.id)) == expected
    # what the crawler reads before a night, in a reading transaction of its own
    assert accepted_keys_by_source(db_url, [FakeSource.id, "other/source"]) == (
        {FakeSource.id: expected} if expected else {})
    engine.dispose()


def test_a_database_downgraded_to_base_is_upgraded_again(db_url: str) -> None:
    # Alembic's version table is left, empty, by a downgrade to base: the migrations build the schema again.
    from alembic import command

    from storage.db import alembic_config

    engine = make_engine(db_url)
    assert upgrade(engine) is True
    config = alembic_config(db_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert current_revision(engine) is None
    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    assert {"sources", "runs", "versions", "claim_meta"} <= set(inspect(engine).get_table_names())
    engine.dispose()
