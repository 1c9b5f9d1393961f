"""Commands load only what they use: reading the record needs neither the crawler, the browser, Alembic
(on an up-to-date database), the report templates nor extraction; `history`, `show` and `changes` not even
SQLAlchemy, and `policywatch --help` no command's implementation. (Timings: bench/startup_speed.py.)"""

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
                   "crawler.runner", "analysis.meaning", "ingest.extraction", "regex", "analysis.claims.engine",
                   "analysis.classify", "storage.claims_queries", "storage.mentions_queries", "datasketch", "scipy")
# `history`, `show` and `changes` read with plain SQL (storage.reader).
NOT_FOR_PLAIN_READING = NOT_FOR_READING + ("sqlalchemy", "storage.models")

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


def loaded_by_command(db: Path, command: list[str]) -> tuple[int, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, "--db", str(db), *command], capture_output=True,
                            text=True, check=True)
    probe = json.loads(result.stdout.splitlines()[-1])
    return probe["status"], probe["loaded"]


def among(loaded: list[str], modules: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if any(name == m or name.startswith(m + ".") for m in modules)]


@pytest.mark.parametrize("command, not_loaded", [
    (["history", "testco/policy"], NOT_FOR_PLAIN_READING),
    (["history", "testco/policy", "--json"], NOT_FOR_PLAIN_READING),
    (["show", "testco/policy"], NOT_FOR_PLAIN_READING),
    (["show", "testco/policy", "--version", "1", "--json"], NOT_FOR_PLAIN_READING),
    (["show", "testco/policy", "--at", "2026-01-01T12:00:00Z"], NOT_FOR_PLAIN_READING),
    (["changes"], NOT_FOR_PLAIN_READING),
    (["changes", "--source", "testco/policy", "--since", "2026-01-01", "--severity", "none", "--json"],
     NOT_FOR_PLAIN_READING),
    (["diff", "testco/policy"], NOT_FOR_READING),
])
def test_reading_the_record_loads_nothing_it_does_not_use(recorded: Path, command: list[str],
                                                          not_loaded: tuple[str, ...]) -> None:
    status, loaded = loaded_by_command(recorded, command)
    assert status == 0
    assert among(loaded, not_loaded) == []


def test_help_loads_no_command_and_no_sqlalchemy(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "import contextlib, io, json, sys\n"
                             "from policywatch.cli import main\n"
                             "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                             "    try:\n        main(['--help'])\n    except SystemExit as exit:\n"
                             "        status = exit.code\n"
                             "print(json.dumps({'status': status, 'help': out.getvalue(), 'loaded': sorted(sys.modules)}))"],
                            capture_output=True, text=True, check=True, cwd=tmp_path)
    probe = json.loads(result.stdout.splitlines()[-1])
    assert probe["status"] == 0 and "history" in probe["help"] and "changes" in probe["help"]
    assert among(probe["loaded"], NOT_FOR_PLAIN_READING + ("policywatch.commands.reading",
                                                           "policywatch.commands.crawl")) == []


def test_an_older_schema_is_still_upgraded_by_a_reading_command_and_said(tmp_path: Path) -> None:
    """The plain path opens only a database at the newest revision; another goes through SQLAlchemy, which upgrades
    it and says so, as every command does."""
    from alembic import command

    from storage.db import alembic_config

    old = tmp_path / "old.db"
    command.upgrade(alembic_config(f"sqlite:///{old}"), _previous_revision())
    result = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(old), "history", "testco/policy"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"policywatch: upgrading database schema {_previous_revision()} → {head_revision()}",
        "policywatch: no recorded source 'testco/policy'; nothing is recorded yet"]


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head_revision())
    assert isinstance(head.down_revision, str)
    return head.down_revision


def test_the_newest_revision_named_in_the_migration_files_is_alembics() -> None:
    assert _head_named_in_files() == head_revision()


def loaded_by(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_a_crawl_of_the_policies_loads_neither_the_news_spider_nor_its_syndication_index() -> None:
    loaded = loaded_by("from crawler.runner import CrawlPlan, run_crawls")
    assert [m for m in loaded if m in ("crawler.spiders.news", "ingest.news.night", "datasketch", "scipy")] == []
    loaded = loaded_by("from crawler.runner import news_plan\nnews_plan()")
    assert "crawler.spiders.news" in loaded


def test_a_crawl_sets_up_its_components_without_importing_the_unused_ones() -> None:
    # As Scrapy's component managers do: the lists composed with their bases, each component's class loaded.
    loaded = loaded_by("from scrapy.settings import Settings\n"
                       "from scrapy.utils.conf import build_component_list\n"
                       "from scrapy.utils.misc import load_object\n"
                       "from crawler.settings import CrawlOptions, scrapy_settings\n"
                       "settings = Settings(scrapy_settings(CrawlOptions()))\n"
                       "for name in ('EXTENSIONS', 'DOWNLOADER_MIDDLEWARES'):\n"
                       "    [load_object(path) for path in build_component_list("
                       "settings.get_component_priority_dict_with_base(name))]")
    assert "scrapy.extensions.corestats" in loaded and "crawler.ladder" in loaded, "the components were set up"
    unused = ("scrapy.extensions.remote_control", "scrapy.extensions.telnet", "scrapy.downloadermiddlewares.cookies",
              "aiohttp", "tldextract")
    assert [m for m in loaded if m in unused] == []


def test_the_claims_package_loads_each_name_from_its_module_when_asked_for() -> None:
    loaded = loaded_by("from analysis.claims import ClaimStatus, DEFAULT_TIME_LIMIT")
    assert [m for m in loaded if m in ("regex", "analysis.claims.compile", "analysis.claims.engine")] == []
    # A name that is also a submodule's keeps meaning the function, whichever is imported first.
    code = ("import analysis.claims.suggest\nfrom analysis.claims import suggest\nimport analysis.claims as c\n"
            "assert callable(suggest) and c.suggest is suggest and suggest.__module__ == 'analysis.claims.suggest'\n"
            "from analysis.claims import *\nmissing = [n for n in c.__all__ if n not in globals()]\nassert not missing, missing")
    assert "analysis.claims.engine" in loaded_by(code)
