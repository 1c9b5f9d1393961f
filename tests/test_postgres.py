"""The same storage code on a real PostgreSQL server (CI starts one; see .ci/run)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select, text

from storage import blobs
from storage.db import head_revision, current_revision, make_engine, session_factory, transaction, upgrade
from storage.models import Change, Snapshot, Version
from storage.record import RawPage, start_run, upsert_source
from ingest.record import record_text

URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server "
                                "to test against (.ci/run starts one)")


class Source:
    id, vendor, title, document_type, language = "pg/policy", "Testco", "Policy", "Privacy Policy", "en"
    urls, tags = ["http://127.0.0.1/p"], []


@pytest.fixture
def pg_url():  # type: ignore[no-untyped-def]
    assert URL is not None
    name = f"pw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_schema_and_recording_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    factory = session_factory(engine)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    bodies = [f"<main><p>We keep chats for {d} days.</p><!-- {i} --></main>".encode() * 50
              for i, d in enumerate([30, 30, 90])]
    with transaction(factory) as s:
        upsert_source(s, Source)
        run = start_run(s, "crawl", t0)
        for i, body in enumerate(bodies):
            text_ = "We keep chats for 90 days.\n" if i == 2 else "We keep chats for 30 days.\n"
            record_text(s, run_id=run.id, source_id=Source.id, at=t0 + timedelta(days=i),
                           pages=[RawPage("u", "u", 200, "text/html", body)], text=text_)
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Version)) == 2
        change = s.scalars(select(Change)).one()
        assert (change.words_added, change.words_removed) == (1, 1)
        first = s.scalars(select(Version).order_by(Version.number)).first()
        assert first.last_confirmed == t0 + timedelta(days=1)
        for snap in s.scalars(select(Snapshot).order_by(Snapshot.id)):
            assert blobs.read(s, snap.blob_sha256) == bodies[snap.outcome_id - 1]
    engine.dispose()


def test_the_news_record_on_postgresql(pg_url: str) -> None:
    from alembic import command

    from ingest.claims_declarations import BUNDLED_CLAIMS
    from ingest.mentions import MentionsPlan
    from ingest.news.declarations import NewsKind, NewsSource, OutletType
    from ingest.news.night import Fetched, NewsNight
    from storage.mentions_models import MentionRow, MentionScanRow
    from news_support import NEWS_DATA, config
    from storage.db import alembic_config
    from storage.news_models import ArticleRow, ArticleVersion

    engine = make_engine(pg_url)
    upgrade(engine)
    source = NewsSource(id="ledger/tech", kind=NewsKind.FEED, language="en", outlet="The Evening Ledger",
                        type=OutletType.PRESS, url="https://www.eveningledger.example/feed.rss")
    night = NewsNight(session_factory(engine), config(), [source], now=lambda: datetime(2025, 6, 12, tzinfo=timezone.utc),
                      mentions=MentionsPlan(BUNDLED_CLAIMS))
    night.open()
    plan = night.plan(source.id, Fetched(source.url, source.url, 200, (NEWS_DATA / "feeds" / "ledger-technology.rss")
                                         .read_bytes()))
    night.record_document(plan)
    page = (NEWS_DATA / "articles" / "en-temporary-chats.html").read_bytes()
    result = night.record_page(plan.targets[0], Fetched(plan.targets[0].url, plan.targets[0].url, 200, page,
                                                        {"content-type": "text/html; charset=utf-8"}))
    assert result.outcome == "first"
    assert night.close().new_versions == 1
    with transaction(session_factory(engine)) as s:
        article = s.get_one(ArticleRow, result.article_id)
        assert article.next_check == datetime(2025, 6, 13, tzinfo=timezone.utc)
        version = s.scalars(select(ArticleVersion)).one()
        assert version.text and version.flags and len(version.minhash or b"") == 128 * 8
        mentions = s.scalars(select(MentionRow)).all()
        assert mentions and all(m.article_version_id == version.id and m.review == "unreviewed" for m in mentions)
        assert s.scalars(select(MentionScanRow)).all(), "the claims' mention vocabularies are recorded"
    engine.dispose()
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "0005")
    command.upgrade(cfg, "head")


def test_imports_holds_and_consistent_reads_on_postgresql(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from ingest.declarations import load_sources
    from ingest.importer import import_manifest
    from reports.data import _changes, _versions
    from storage.db import reading

    engine = make_engine(pg_url)
    upgrade(engine)
    factory = session_factory(engine)
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: pg/policy, vendor: T, title: P, document_type: P, language: en, "
        "urls: ['https://example.test/']}\n", encoding="utf-8")
    policy = "".join(f"Clause {i}: we keep your {w} for {i + 10} days.\n\n"
                     for i, w in enumerate(["chats", "files", "images", "logs", "voice"] * 8))
    other = "".join(f"Article {i}: credits are {w} and not refunded.\n\n"
                    for i, w in enumerate(["bought", "used", "kept", "lost", "sold"] * 8))
    texts = [policy, other, policy.replace("10 days", "90 days")]
    for n, text_ in enumerate(texts):
        (tmp_path / f"{n}.md").write_text(text_, encoding="utf-8")
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"source": "pg/policy", "at": f"2026-02-0{n + 1}T00:00:00Z",
                                                          "path": f"{n}.md"}) + "\n" for n in range(3)))
    report = import_manifest(factory, tmp_path / "m.jsonl", load_sources(tmp_path / "sources.yaml"))
    assert [str(r.outcome) for r in report.applied] == ["first", "pending", "changed"]
    with reading(factory) as session:
        versions = _versions(session)
        with transaction(factory) as other_session:
            other_session.execute(text("DELETE FROM changes"))
        assert len(_changes(session, versions)["pg/policy"]) == 1, "the read saw one state"
        assert session.scalar(text("SELECT count(*) FROM source_locks")) == 0
    engine.dispose()
