"""Commands load only what they use: reading the record needs neither the crawler, the browser, Alembic
(on an up-to-date database), the report templates nor extraction. (Timings: bench/startup_speed.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.record import record_text
from storage.db import _head_named_in_files, head_revision, make_engine, session_factory, transaction, upgrade
from storage.models import SourceFields
from storage.record import RawPage, start_run, upsert_source

NOT_FOR_READING = ("scrapy", "twisted", "alembic", "jinja2", "playwright", "lxml", "yaml", "reports",
                   "crawler.runner", "analysis.meaning", "ingest.extraction")

PROBE = """
import contextlib, io, json, sys
from policywatch.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(sys.argv[1:])
print(json.dumps({"status": status, "loaded": sorted(m for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("startup") / "record.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    source = SourceFields(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy",
                          language="en", urls=("http://127.0.0.1/policy",))
    with transaction(session_factory(engine)) as session:
        upsert_source(session, source)
        run = start_run(session, "crawl", datetime(2026, 1, 1, tzinfo=timezone.utc))
        for day, text in enumerate(["We keep chats for 30 days.\n", "We keep chats for 90 days.\n"], start=1):
            record_text(session, run_id=run.id, source_id=source.id, at=datetime(2026, 1, day, tzinfo=timezone.utc),
                        pages=[RawPage(source.urls[0], source.urls[0], 200, "text/html", text.encode())], text=text)
    engine.dispose()
    return db


@pytest.mark.parametrize("command", [["history", "testco/policy"], ["show", "testco/policy"], ["changes"],
                                     ["diff", "testco/policy"], ["history", "testco/policy", "--json"]])
def test_reading_the_record_loads_nothing_it_does_not_use(recorded: Path, command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, "--db", str(recorded), *command], capture_output=True,
                            text=True, check=True)
    probe = json.loads(result.stdout.splitlines()[-1])
    assert probe["status"] == 0
    loaded = [name for name in probe["loaded"] if any(name == m or name.startswith(m + ".") for m in NOT_FOR_READING)]
    assert loaded == []


def test_the_newest_revision_named_in_the_migration_files_is_alembics() -> None:
    assert _head_named_in_files() == head_revision()
