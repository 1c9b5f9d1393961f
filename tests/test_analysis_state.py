"""A change that was not (fully) analysed says so, and why, wherever it is shown.

Its analysis may have been skipped (a language without rules) or stopped at
its budget ("analysis incomplete"); either way it is recorded as a
substantive change with `analysed` false and a note (`analysis_note`), and `history`, `diff`,
`changes`, `--json` and the report's change page show the note.
"""

from __future__ import annotations

import json

from datetime import datetime, timezone
from pathlib import Path

import pytest

import ingest.changes
from conftest import analyses_while_writable
from analysis.budget import Budget
from analysis.meaning import analyse_change
from ingest.declarations import Source
from ingest.extraction import ExtractionRules
from ingest.record import store_outcome
from reports.site import build_site
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import Change
from storage.record import RawPage, start_run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
OLD = "# Privacy\n\nWe keep your chats for 30 days. We do not sell personal data.\n"
NEW = "# Privacy\n\nWe keep your chats for 90 days. We may share personal data with our affiliates.\n"


def source(language: str = "en") -> Source:
    return Source(id="testco/policy", vendor="Testco", title="Policy", document_type="Privacy Policy",
                  language=language, urls=("http://127.0.0.1/policy",), rules=ExtractionRules())


def page(text: str) -> RawPage:
    return RawPage("http://127.0.0.1/policy", "http://127.0.0.1/policy", None, "text/markdown", text.encode())


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'policywatch.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def record_two_versions(factory, declared: Source) -> Change:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        run_id = start_run(session, "import", T0).id
    for day, text in enumerate((OLD, NEW)):
        store_outcome(factory, run_id, declared, T0.replace(day=day + 1), [page(text)], None)
    with transaction(factory) as session:
        return session.query(Change).one()


def test_an_analysis_past_its_budget_is_a_substantive_change_marked_incomplete() -> None:
    complete = analyse_change(OLD, NEW, "en")
    assert complete.analysed and complete.flags
    stopped = analyse_change(OLD, NEW, "en", Budget(steps=3))
    assert (stopped.kind, stopped.severity, stopped.flags, stopped.analysed) == ("substantive", "low", (), False)
    assert stopped.note.startswith("analysis incomplete:") and "3 steps" in stopped.note
    assert stopped.to_json()["analysed"] is False and stopped.to_json()["note"] == stopped.note


def test_a_change_whose_analysis_ran_out_of_time_is_recorded_with_its_note(factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ingest.changes, "ANALYSIS_SECONDS", -1.0)  # every analysis is already past its time
    change = record_two_versions(factory, source())
    assert (change.kind, change.analysed, change.flags) == ("substantive", False, [])
    assert change.analysis_note.startswith("analysis incomplete: it needed more than its budget of -1 s")
    assert change.announced and (change.words_added, change.words_removed) == (7, 5), "the size is still the real edit"


def test_a_change_in_a_language_without_rules_is_recorded_as_not_analysed(factory) -> None:  # type: ignore[no-untyped-def]
    change = record_two_versions(factory, source("zh"))
    assert (change.analysed, change.analysis_note) == (False, "not analysed: no rules for zh")


def test_every_view_of_the_change_shows_why_it_was_not_analysed(factory, make_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  monkeypatch) -> None:
    monkeypatch.setattr(ingest.changes, "ANALYSIS_SECONDS", -1.0)
    record_two_versions(factory, source())
    note = "analysis incomplete: it needed more than its budget of -1 s"
    cli = make_cli()
    for command in (["history", "testco/policy"], ["changes"], ["diff", "testco/policy"]):
        assert note in cli(*command).stdout, command
    assert [c["analysed"] for c in cli.json("changes")] == [False]
    assert cli.json("changes")[0]["analysis_note"] == note
    briefs = [v["change"] for v in cli.json("history", "testco/policy")["versions"]]
    assert briefs[1]["analysed"] is False and briefs[1]["analysis_note"] == note
    build_site(factory, tmp_path / "site", "https://policywatch.example/")
    page = next((tmp_path / "site" / "changes").glob("*.html")).read_text(encoding="utf-8")
    assert f"<dt>Analysis</dt><dd>{note}</dd>" in page


def test_an_analysed_change_shows_no_analysis_note(factory, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record_two_versions(factory, source())
    assert make_cli().json("changes")[0]["analysed"] is True
    build_site(factory, tmp_path / "site", "https://policywatch.example/")
    page = next((tmp_path / "site" / "changes").glob("*.html")).read_text(encoding="utf-8")
    assert "<dt>Analysis</dt>" not in page


def test_a_change_is_analysed_before_its_write_transaction_opens(factory, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # While the change is analysed, another writer can write at once: the record holds no lock meanwhile.
    writes = analyses_while_writable(monkeypatch, tmp_path / "policywatch.db")
    change = record_two_versions(factory, source())
    assert writes == ["written"]
    assert change.analysed and change.flags, "the analysis worked out beforehand is the one stored"


def test_the_crawl_records_and_analyses_off_the_reactor_thread(tmp_path: Path) -> None:
    # The crawl's storage pipeline hands each fetched document to a worker thread; the reactor (the main
    # thread) only fetches.
    import subprocess
    import sys

    from policywatch.localserver import LocalServer, Page

    driver = tmp_path / "driver.py"
    driver.write_text(
        "import json, sys, threading\n"
        "import ingest.changes\n"
        "threads = []\n"
        "analyse = ingest.changes.analyse_texts\n"
        "def spy(*args, **kwargs):\n"
        "    threads.append(threading.current_thread() is threading.main_thread())\n"
        "    return analyse(*args, **kwargs)\n"
        "ingest.changes.analyse_texts = spy\n"
        "from policywatch.cli import main\n"
        "main(['--db', sys.argv[1], '--sources', sys.argv[2], '-q', 'crawl', '--now', sys.argv[3]])\n"
        "print(json.dumps(threads))\n", encoding="utf-8")
    day_file = tmp_path / "day"

    def served() -> Page:
        wording = "30 days" if day_file.read_text() == "2026-01-01T00:00:00Z" else "90 days"
        return Page(f"<html><body><main><p>We keep your chats for {wording}.</p></main></body></html>".encode())

    with LocalServer({"/policy": served}) as server:
        declarations = tmp_path / "sources.yaml"
        declarations.write_text(
            "sources:\n  - {id: testco/policy, vendor: Testco, title: Policy, document_type: Privacy Policy, "
            f"language: en, urls: ['{server.base_url}/policy'], select: main}}\n", encoding="utf-8")
        env = {"POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true", "POLICYWATCH_AUTOTHROTTLE": "false",
               "PATH": "/usr/bin:/bin"}
        outputs = []
        for day in ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"):  # Twisted's reactor runs once per process
            day_file.write_text(day)
            result = subprocess.run([sys.executable, str(driver), str(tmp_path / "crawl.db"), str(declarations), day],
                                    capture_output=True, text=True, env=env, timeout=120)
            assert result.returncode == 0, result.stderr[-3000:]
            outputs.append(json.loads(result.stdout.splitlines()[-1]))
    assert outputs == [[], [False]], "one change, analysed in the worker thread"
