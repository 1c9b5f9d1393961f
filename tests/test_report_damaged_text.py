"""A version text damaged in the database (it no longer reads back as its sha256) is left out of the report,
the way a damaged raw snapshot is: the site is built, the version's page says so, and one warning names it.
On SQLite and PostgreSQL, through the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from ingest.record import record_text
from policywatch.cli import main
from storage.blobs import compress
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import SourceFields, VersionText
from storage.record import RawPage, start_run, upsert_source

TEXTS = ["We keep chats for 30 days.\n" * 30, "We keep chats for 90 days.\n" * 30,
         "We keep chats for 120 days.\n" * 30]


def damaged_record(url: str, damaged: int | None) -> str:
    """Three versions of t/a; the text of version `damaged` has one byte flipped (None: not yet, `damage` does
    it). Its sha256."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            upsert_source(session, SourceFields(id="t/a", vendor="T", title="A", document_type="Privacy Policy",
                                                language="en", urls=("http://127.0.0.1/a",)))
            run = start_run(session, "crawl", datetime(2026, 1, 1, tzinfo=timezone.utc))
            for day, text in enumerate(TEXTS):
                record_text(session, run_id=run.id, source_id="t/a",
                            at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=day),
                            pages=[RawPage("http://127.0.0.1/a", "http://127.0.0.1/a", 200, "text/html",
                                           text.encode())], text=text)
    finally:
        engine.dispose()
    return "" if damaged is None else damage(url, damaged)


def damage(url: str, number: int) -> str:
    """Flip one byte of the stored text of t/a version `number`; its sha256."""
    sha = hashlib.sha256(TEXTS[number - 1].encode()).hexdigest()
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            data = bytearray(session.scalar(select(VersionText.data).where(VersionText.sha256 == sha)))
            data[len(data) // 2] ^= 0xFF
            session.execute(update(VersionText).where(VersionText.sha256 == sha).values(data=bytes(data)))
    finally:
        engine.dispose()
    return sha


@pytest.mark.parametrize("damaged", [2, 3])  # a version in the history, and the current one
def test_a_damaged_version_text_is_left_out_of_the_report_and_named(db_url: str, damaged: int, tmp_path: Path,
                                                                    capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    sha = damaged_record(db_url, damaged)
    site = tmp_path / "site"
    capsys.readouterr()
    assert main(["--db", db_url, "report", "--out", str(site)]) == 0
    out, err = capsys.readouterr()
    warnings = err.strip().splitlines()
    assert len(warnings) == 1, err
    assert warnings[0].startswith(f"policywatch: text of t/a version {damaged} left out: damaged in the database "
                                  f"(version text {sha}")
    assert warnings[0].endswith("`policywatch check` lists the damage")

    page = (site / "versions" / "t" / "a" / f"{damaged}.html").read_text(encoding="utf-8")
    assert "This version's text is damaged in the database" in page
    assert "<code>policywatch check</code>" in page
    assert "We keep chats for" not in page
    for number in (1, 2, 3):
        markdown = site / "versions" / "t" / "a" / f"{number}.md"
        assert markdown.is_file() == (number != damaged)
        if number != damaged:
            assert "We keep chats for" in (site / "versions" / "t" / "a" / f"{number}.html").read_text("utf-8")
    changes = [(site / "changes" / f"{n}.html").read_text(encoding="utf-8") for n in (1, 2)]
    assert sum(f"The text of version {damaged} is damaged in the database" in c for c in changes) == \
        (2 if damaged == 2 else 1)
    script = (site / "versions" / "t" / "a" / "_texts.js").read_text(encoding="utf-8")
    assert f'"{damaged}":' not in script and '"1":' in script

    archive = next((site / "data").glob("*.zip"))
    with zipfile.ZipFile(archive) as opened:
        rows = [json.loads(line) for line in opened.read("versions.jsonl").decode("utf-8").splitlines()]
    assert [(r["number"], r["text"] is None, r["words"] is None) for r in rows] == \
        [(n, n == damaged, n == damaged) for n in (1, 2, 3)]

    # A second build names it again: what was left out is not taken for up to date.
    assert main(["--db", db_url, "report", "--out", str(site)]) == 0
    assert capsys.readouterr().err.strip().splitlines() == warnings


def test_a_damaged_text_is_named_once_when_sources_are_written_by_several_processes(tmp_path: Path) -> None:
    from reports.site import build_site
    from storage.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'pw.db'}"
    sha = damaged_record(url, 2)
    engine = make_engine(url)
    try:
        stats = build_site(session_factory(engine), tmp_path / "site", workers=2)
    finally:
        engine.dispose()
    assert len(stats.problems) == 1 and stats.problems[0].startswith(
        f"text of t/a version 2 left out: damaged in the database (version text {sha}")
    assert "text is damaged in the database" in (tmp_path / "site" / "versions" / "t" / "a" / "2.html").read_text(
        encoding="utf-8")


def verifiers(site: Path) -> list[tuple[int, str]]:
    """`policywatch check --site` and the site's own verify-ledger.py: exit status and output of each."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    runs = [subprocess.run([sys.executable, "-m", "policywatch", "check", "--site", str(site)], capture_output=True,
                           text=True, timeout=120, env=env),
            subprocess.run([sys.executable, "-I", str(site / "verify-ledger.py"), str(site)], capture_output=True,
                           text=True, timeout=120, cwd="/")]
    for done in runs:
        assert "Traceback" not in done.stderr, done.stderr
    return [(done.returncode, done.stdout) for done in runs]


def test_the_verifiers_tell_a_text_left_out_as_damaged_from_a_missing_one(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    sha = damaged_record(url, 2)
    site = tmp_path / "site"
    assert main(["--db", url, "report", "--out", str(site)]) == 0
    capsys.readouterr()
    listed = json.loads((site / "left-out.json").read_text(encoding="utf-8"))
    assert listed == {"texts": [{"source": "t/a", "number": 2, "text_sha256": sha,
                                 "reason": "damaged in the publisher's database"}]}
    for status, out in verifiers(site):
        assert status == 0, out
        assert "PROBLEM" not in out
        assert "note: versions/t/a/_texts.js: v2 left out by the publisher: damaged in its database " \
               "(entry 2 (version t/a v2))" in out
        assert out.strip().splitlines()[-1].startswith("ok: 0 problem(s)")
        assert "1 text(s) left out by the publisher (damaged in its database)" in out

    # A text removed from the site that the list does not name is still a problem, as is a listing that names
    # another text than the ledger's entry.
    script = site / "versions" / "t" / "a" / "_texts.js"
    texts = json.loads(script.read_text(encoding="utf-8")[len("policywatchVersions("):-len(");\n")])
    del texts["1"]
    script.write_text(f"policywatchVersions({json.dumps(texts)});\n", encoding="utf-8")
    listed["texts"][0]["text_sha256"] = "0" * 64
    (site / "left-out.json").write_text(json.dumps(listed), encoding="utf-8")
    for status, out in verifiers(site):
        assert status == 1, out
        assert "PROBLEM: versions/t/a/_texts.js: v1 is missing (entry 1 (version t/a v1))" in out
        assert "PROBLEM: versions/t/a/_texts.js: v2 is missing (entry 2 (version t/a v2))" in out


def test_the_list_of_texts_left_out_leaves_the_site_with_the_damage(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    sha = damaged_record(url, 3)
    site = tmp_path / "site"
    assert main(["--db", url, "report", "--out", str(site)]) == 0
    assert (site / "left-out.json").is_file()
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:  # the damage repaired: the text stored again
            session.execute(update(VersionText).where(VersionText.sha256 == sha).values(
                data=compress(TEXTS[2].encode(), None),
                base_sha256=None))
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["--db", url, "report", "--out", str(site)]) == 0
    assert "left out" not in capsys.readouterr().err
    assert not (site / "left-out.json").exists()
    assert [status for status, _ in verifiers(site)] == [0, 0]


@pytest.mark.parametrize("damaged", [2, 3])
def test_a_text_damaged_after_the_site_was_built_is_named_by_the_next_incremental_build(
        db_url: str, damaged: int, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    damaged_record(db_url, None)
    site = tmp_path / "site"
    assert main(["--db", db_url, "report", "--out", str(site)]) == 0
    assert "left out" not in capsys.readouterr().err
    assert (site / "versions" / "t" / "a" / f"{damaged}.md").is_file()

    sha = damage(db_url, damaged)
    for _ in range(2):  # nothing new in the record, and at every build until the damage is gone
        assert main(["--db", db_url, "report", "--out", str(site)]) == 0
        warnings = capsys.readouterr().err.strip().splitlines()
        assert len(warnings) == 1 and warnings[0].startswith(
            f"policywatch: text of t/a version {damaged} left out: damaged in the database (version text {sha}"), \
            warnings
    # The site is as a build from scratch makes it: the text left out of its page and listed as left out.
    assert not (site / "versions" / "t" / "a" / f"{damaged}.md").exists()
    assert "This version's text is damaged in the database" in \
        (site / "versions" / "t" / "a" / f"{damaged}.html").read_text(encoding="utf-8")
    assert json.loads((site / "left-out.json").read_text(encoding="utf-8"))["texts"][0]["number"] == damaged
