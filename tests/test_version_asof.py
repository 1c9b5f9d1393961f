"""A version confirmed night after night: its page counts every confirmation and lists a bounded few,
and the site keeps only the raw pages its pages link to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest.record import record_text
from reports.pages import CONFIRMATIONS_SHOWN
from reports.site import build_site
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.record import RawPage, finish_run, start_run, upsert_source

DAY0 = datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)
TEXT = "# Privacy\n\nWe keep chats for 30 days.\n"


class Declared:
    id = "acme/privacy"
    vendor = "Acme"
    title = "Privacy"
    document_type = "Privacy Policy"
    language = "en"
    urls = ["https://acme.example/privacy"]
    tags: list[str] = []


def night(factory, day: int, text: str = TEXT) -> None:  # type: ignore[no-untyped-def]
    at = DAY0 + timedelta(days=day)
    # A fresh nonce every night: the same text, new page bytes, a new raw snapshot.
    body = f"<html><body><main>{text}</main><script nonce='{day}'></script></body></html>".encode()
    with transaction(factory) as session:
        upsert_source(session, Declared())
        run_id = start_run(session, "crawl", at).id
        record_text(session, run_id=run_id, source_id=Declared.id, at=at, text=text,
                    pages=[RawPage(Declared.urls[0], Declared.urls[0], 200, "text/html", body)])
        finish_run(session, run_id, at)


def test_a_long_confirmed_version_lists_a_few_confirmations_and_keeps_few_files(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    nights = 40
    for day in range(nights):
        night(factory, day)
    out = tmp_path / "site"
    build_site(factory, out, "https://watch.example/")
    page = (out / "versions/acme/privacy/1.html").read_text(encoding="utf-8")
    assert f"{nights - 1} later fetches found this text unchanged, the last at" in page
    assert page.count('<tr><td><time datetime="') == CONFIRMATIONS_SHOWN
    last = (DAY0 + timedelta(days=nights - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"As of <time datetime=\"{last}\">{last}</time>, this text was in force (confirmed by {nights} fetches" in page
    assert f"<strong>current</strong> (last checked <time datetime=\"{last}\">" in page
    # Its own first fetch and the latest few confirmations: not one file per night.
    assert len(list((out / "raw").iterdir())) == 1 + CONFIRMATIONS_SHOWN

    night(factory, nights)  # one more night: the oldest listed confirmation leaves the page and the site
    build_site(factory, out, "https://watch.example/")
    assert len(list((out / "raw").iterdir())) == 1 + CONFIRMATIONS_SHOWN

    night(factory, nights + 1, TEXT.replace("30 days", "90 days"))  # a new version ends the first one's time
    build_site(factory, out, "https://watch.example/")
    first = (out / "versions/acme/privacy/1.html").read_text(encoding="utf-8")
    changed = (DAY0 + timedelta(days=nights + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"in force until <time datetime=\"{changed}\">{changed}</time> (version 2 first seen)" in first
    assert f"{nights} later fetches found this text unchanged" in first
    source = (out / "sources/acme/privacy/index.html").read_text(encoding="utf-8")
    assert f"in force until <time datetime=\"{changed}\">" in source and "<strong>current</strong>" in source
    assert (out / "versions/acme/privacy/2.md").read_text(encoding="utf-8") == TEXT.replace("30 days", "90 days")
    assert (out / "versions/acme/privacy/1.md").read_text(encoding="utf-8") == TEXT
    engine.dispose()
