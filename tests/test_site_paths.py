"""A record may hold source ids the declarations now refuse (made by an older policywatch): ids whose folders
would be another id's files, ids that differ from another only in case, or with a part longer than a file name
may be. `report` builds every source at its own path, the same at every build, and the published verifier
finds every text where the site put it. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.record import record_text
from policywatch.cli import main
from reports import urls
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import SourceFields
from storage.record import RawPage, start_run, upsert_source

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
IDS = ["v", "v/1.md", "v/2.html", "v/index.html", "v.atom/x", "v.rss/x", "w/" + "b" * 198, "V", "V/1.md"]
# Longer than a file name may be: SQLite keeps such an id (PostgreSQL's column refuses more than 200 characters).
TOO_LONG = "w/" + "a" * 250


def record_with(url: str, ids: list[str]) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            run = start_run(session, "crawl", T0)
            for n, sid in enumerate(ids):
                upsert_source(session, SourceFields(id=sid, vendor="V", title=f"Document {n}", document_type="Policy",
                                                    language="en", urls=(f"http://127.0.0.1/{n}",)))
                for day in (0, 1):  # two versions each: v/1.md and v/2.html are both a version's files of v
                    text = f"Document {n} keeps chats for {30 + day} days.\n"
                    record_text(session, run_id=run.id, source_id=sid, at=T0 + timedelta(days=day),
                                pages=[RawPage(f"http://127.0.0.1/{n}", f"http://127.0.0.1/{n}", 200, "text/html",
                                               text.encode())], text=text)
    finally:
        engine.dispose()


def test_ids_whose_paths_would_collide_or_overflow_get_distinct_stable_paths(db_url: str, tmp_path: Path,
                                                                            capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    ids = IDS + [TOO_LONG] if db_url.startswith("sqlite") else IDS
    record_with(db_url, ids)
    site = tmp_path / "site"
    assert main(["--db", db_url, "report", "--out", str(site)]) == 0
    capsys.readouterr()
    folders = [urls.source_dir(sid) for sid in ids]
    assert len(set(folders)) == len(ids)
    assert folders[0] == "v" and folders[6] == "w/" + "b" * 198  # a safe id keeps its readable folder
    for n, sid in enumerate(ids):
        page = (site / urls.source_page(sid)).read_text(encoding="utf-8")
        assert f"Document {n}" in page
        for number, days in ((1, 30), (2, 31)):
            markdown = site / urls.version_markdown(sid, number)
            assert markdown.read_text(encoding="utf-8") == f"Document {n} keeps chats for {days} days.\n"
        assert (site / urls.source_feed(sid, "atom")).is_file()
    assert all(len(part.encode()) <= 255 for p in site.rglob("*") for part in p.relative_to(site).parts)

    before = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert main(["--db", db_url, "report", "--out", str(site), "--full"]) == 0
    after = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert {p for p in after if not p.startswith("pagefind/")} == {p for p in before if not p.startswith("pagefind/")}

    # The verifier published with the site (standard library only) finds every text at the same path.
    verified = subprocess.run([sys.executable, str(site / "verify-ledger.py"), str(site)], capture_output=True,
                              text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize("sid", ["v/1.md", "v.atom/x", "w/" + "a" * 201])
def test_such_an_id_is_hashed_by_the_site_and_refused_by_the_declarations(sid: str) -> None:
    from analysis.siteids import folder_problem

    assert folder_problem(sid) is not None
    assert urls.source_dir(sid).startswith("id-")
