"""An imported history is told apart from a crawl: the run is dated by when it was performed, with the dates its
files cover, and a source known from imports only is not called checked until a crawl checks it.

Imports go through the real CLI, the crawl fetches from a local server, the report is built as `policywatch
report` builds it, and schema 0017 is migrated up and down on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, create_engine, inspect, select, text

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page
from storage.db import alembic_config, make_engine, reading, session_factory
from storage.models import Run

OLD = "<main><p>We keep chats for 30 days.</p></main>"
NEW = "<main><p>We keep chats for 90 days, and we may use them to train our models.</p></main>"
CRAWLED = f"<html><body>{NEW}</body></html>"


def import_history(root: Path, cli: CLI) -> None:
    """Two saved pages of t/policy, from 2019 and 2024."""
    (root / "old.html").write_text(OLD, encoding="utf-8")
    (root / "new.html").write_text(NEW, encoding="utf-8")
    (root / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in [
        {"source": "t/policy", "at": "2019-03-01T00:00:00Z", "path": "old.html"},
        {"source": "t/policy", "at": "2024-06-30T00:00:00Z", "path": "new.html"}]), encoding="utf-8")
    cli("import", "--manifest", str(root / "history.jsonl"))


def runs(db: Path) -> list[Run]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with reading(session_factory(engine)) as session:
            found = list(session.scalars(select(Run).order_by(Run.id)))
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def report(cli: CLI, out: Path) -> dict[str, str]:
    cli("report", "--out", str(out))
    return {name: (out / name).read_text(encoding="utf-8")
            for name in ("index.html", "runs.html", "sources/t/policy/index.html", "versions/t/policy/1.html",
                         "versions/t/policy/2.html")}


def plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def last_checked(source_page: str) -> str:
    return plain(source_page.split("<dt>Last checked</dt>", 1)[1].split("</dd>", 1)[0])


def run_row(runs_page: str, run_id: int) -> list[str]:
    """The cells of a run's row in the runs page's table, as text."""
    row = runs_page.split(f'<th scope="row">#{run_id}</th>', 1)[1].split("</tr>", 1)[0]
    return [plain(cell) for cell in row.split("</td>")[:-1]]


@pytest.fixture
def imported(tmp_path: Path) -> Iterator[tuple[Path, CLI, LocalServer, datetime, datetime]]:
    """A record holding t/policy's history imported from files, the only run so far; the wall clock around it."""
    with LocalServer() as server:
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
            {"id": "t/policy", "title": "Policy", "urls": ["/policy"], "select": "main"}])
        cli = CLI(tmp_path / "policywatch.db", decl, tmp_path)
        before = datetime.now(timezone.utc)
        import_history(tmp_path, cli)
        after = datetime.now(timezone.utc)
        yield tmp_path, cli, server, before, after


def test_an_import_run_keeps_its_files_dates_and_when_it_was_performed(
        imported: tuple[Path, CLI, LocalServer, datetime, datetime]) -> None:
    _, cli, _, before, after = imported
    (run,) = runs(cli.db)
    assert (run.kind, run.status) == ("import", "ok")
    assert (run.started_at, run.finished_at) == (datetime(2019, 3, 1, tzinfo=timezone.utc),
                                                 datetime(2024, 6, 30, tzinfo=timezone.utc)), "the record's times"
    assert run.performed_at is not None and run.performed_until is not None
    # Stored to the microsecond or the second, depending on the database: compared to the second.
    assert before - timedelta(seconds=1) <= run.performed_at <= run.performed_until <= after + timedelta(seconds=1)


def test_the_index_and_runs_page_date_an_import_by_when_it_ran_and_the_files_it_covers(
        imported: tuple[Path, CLI, LocalServer, datetime, datetime]) -> None:
    root, cli, _, before, _ = imported
    pages = report(cli, root / "site")
    index, runs_page = plain(pages["index.html"]), plain(pages["runs.html"])
    today = f"{before:%Y-%m-%d}"
    assert re.search(rf"Last run on the vendors' documents: #1 \(import\) performed {today} \d\d:\d\d UTC, "
                     r"importing files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC: ok — 2 file\(s\) imported", index), index
    assert "started 2019" not in index and "2019-03-01 00:00 UTC:" not in index
    kind, status, started, finished, dated, *counts = run_row(pages["runs.html"], 1)
    # Checked, Imported, New versions, Changes, Failures: an import's files are not checks.
    assert (kind, status, counts) == ("import", "ok", ["", "2", "2", "1", "0"])
    assert re.fullmatch(rf"{today} \d\d:\d\d UTC", started) and re.fullmatch(rf"{today} \d\d:\d\d UTC", finished)
    assert dated == "files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC"
    assert "Records dated" in runs_page


def test_an_imported_source_is_not_yet_checked_until_a_crawl_checks_it(
        imported: tuple[Path, CLI, LocalServer, datetime, datetime]) -> None:
    root, cli, server, _, _ = imported
    listed = cli("sources").stdout
    assert ("2 version(s), imported files dated 2019-03-01T00:00:00Z to 2024-06-30T00:00:00Z, not yet checked by a "
            "crawl") in listed and "checked 2024" not in listed
    (row,) = cli.json("sources")
    assert (row["last_checked"], row["imported_from"], row["imported_until"]) == (
        None, "2019-03-01T00:00:00Z", "2024-06-30T00:00:00Z")
    pages = report(cli, root / "site")
    index_row = plain(pages["index.html"].split('id="sources"', 1)[1].split("</tr>", 2)[1])
    assert ("not yet checked by a crawl; imported files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC"
            in index_row), index_row
    assert last_checked(pages["sources/t/policy/index.html"]) == (
        "not yet checked by a crawl; imported files dated 2019-03-01T00:00:00Z to 2024-06-30T00:00:00Z")
    version = plain(pages["versions/t/policy/2.html"])
    assert "current (not yet checked by a crawl; imported files dated 2019-03-01T00:00:00Z" in version
    assert ("current as of the latest imported file, dated 2024-06-30T00:00:00Z (not yet checked by a crawl)"
            in version) and "current at the last check" not in version

    server.routes["/policy"] = Page(CRAWLED.encode())
    cli("crawl", "--now", "2026-03-05T06:00:00Z")
    assert "2 version(s), checked 2026-03-05T06:00:00Z" in cli("sources").stdout, "a crawl's wording, as before"
    (row,) = cli.json("sources")
    assert (row["last_checked"], row["imported_until"]) == ("2026-03-05T06:00:00Z", "2024-06-30T00:00:00Z")
    pages = report(cli, root / "site")
    index = plain(pages["index.html"])
    assert "Last run on the vendors' documents: #2 (crawl) started 2026-03-05 06:00 UTC: ok — 1 checked" in index
    assert "not yet checked" not in index and "imported files" not in index
    assert "current at the last check 2026-03-05T06:00:00Z." in plain(pages["versions/t/policy/2.html"])
    assert last_checked(pages["sources/t/policy/index.html"]) == "2026-03-05T06:00:00Z"
    assert run_row(pages["runs.html"], 1)[4] == "files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC"
    assert run_row(pages["runs.html"], 2)[2:5] == ["2026-03-05 06:00 UTC", "2026-03-05 06:00 UTC", "when it ran"]


def test_imported_versions_say_imported_and_an_imported_source_has_its_own_health(db_url: str,
                                                                                   tmp_path: Path) -> None:
    """Nothing an import recorded is called a fetch: not on its versions' pages, not on its source's page, not
    in the runs page's checks; `sources --json` calls its health `imported` until a crawl checks it."""
    with LocalServer() as server:
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
            {"id": "t/policy", "title": "Policy", "urls": ["/policy"], "select": "main"}])
        cli = CLI(db_url, decl, tmp_path)  # type: ignore[arg-type]
        import_history(tmp_path, cli)
        (tmp_path / "again.jsonl").write_text(json.dumps(
            {"source": "t/policy", "at": "2025-01-15T00:00:00Z", "path": "new.html"}) + "\n", encoding="utf-8")
        cli("import", "--manifest", str(tmp_path / "again.jsonl"))  # the same text again: a confirmation
        (row,) = cli.json("sources")
        assert row["health"] == "imported" and row["failing_since"] is None
        pages = report(cli, tmp_path / "site")
        for name in ("sources/t/policy/index.html", "versions/t/policy/1.html", "versions/t/policy/2.html"):
            assert not re.search(r"\bfetch", plain(pages[name]), re.I), (name, plain(pages[name]))
        version = plain(pages["versions/t/policy/2.html"])
        assert "confirmed by 2 imported files from 2024-06-30T00:00:00Z to 2025-01-15T00:00:00Z" in version
        assert "Importeda file dated 2024-06-30 00:00 UTC" in version  # <dt>Imported</dt><dd>a file dated …
        assert "download the bytes as imported" in version
        assert "1 later imported file found this text unchanged" in version
        first = plain(pages["versions/t/policy/1.html"])
        assert "Came froman imported file (policywatch import)" in first
        assert "it is known from its imported file alone" in first
        assert "Healthimported files only, not yet checked by a crawl" in plain(pages["sources/t/policy/index.html"])
        assert run_row(pages["runs.html"], 2)[5:7] == ["", "1"]  # Checked, Imported

        server.routes["/policy"] = Page(CRAWLED.encode())
        cli("crawl", "--now", "2026-03-05T06:00:00Z")
        (row,) = cli.json("sources")
        assert row["health"] == "ok"
        pages = report(cli, tmp_path / "site")
        version = plain(pages["versions/t/policy/2.html"])
        assert "confirmed by 1 fetch and 2 imported files from 2024-06-30T00:00:00Z to 2026-03-05T06:00:00Z" in version
        assert "1 later fetch and 1 later imported file found this text unchanged" in version
        assert "Healthok" in plain(pages["sources/t/policy/index.html"])
        assert run_row(pages["runs.html"], 3)[5:7] == ["1", ""]

        # The data download counts as the runs page does: an import's files are imported, not checked.
        with zipfile.ZipFile(next((tmp_path / "site" / "data").glob("*.zip"))) as archive:
            rows = [json.loads(line) for line in archive.read("runs.jsonl").decode("utf-8").splitlines()]
            readme = archive.read("README.md").decode("utf-8")
        assert [(r["kind"], r["sources_checked"], r["imported"]) for r in rows] == [
            ("import", 0, 2), ("import", 0, 1), ("crawl", 1, 0)]
        assert "`imported`" in readme and "0 for an import, whose files are no checks" in readme
        assert "when this text was first fetched or, from an imported file, when that file was saved" in readme


# Schema 0017 on both databases.

T0 = datetime(2026, 2, 1, 6)  # naive UTC, as the columns store it
OLD_RUNS = [  # id, kind, status, started_at, finished_at
    (1, "import", "ok", datetime(2019, 3, 1), datetime(2024, 6, 30)),
    (2, "crawl", "ok", T0, T0 + timedelta(minutes=4)),
    (3, "crawl", "aborted", T0 + timedelta(days=1), T0 + timedelta(days=2)),
    (4, "reextract", "ok", T0 + timedelta(days=3), T0 + timedelta(days=3)),
    (5, "crawl", "running", T0 + timedelta(days=4), None),
]


def columns(engine: Engine, *names: str) -> list[tuple[object, ...]]:
    """These columns of every run, read through the reflected table (times come back as datetimes)."""
    meta = MetaData()
    meta.reflect(engine, only=["runs"])
    runs = meta.tables["runs"]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*(runs.c[n] for n in names)).order_by(runs.c.id))]


def migrate(engine: Engine, url: str, direction: str, revision: str) -> None:
    """Through the application's own engine, as `storage.db.upgrade` migrates: SQLite enforces foreign keys."""
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, direction)(config, revision)


def test_migration_0017_fills_what_the_runs_said_and_its_downgrade_keeps_them(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, db_url, "upgrade", "0016")
    meta = MetaData()
    meta.reflect(engine, only=["runs", "sources", "fetch_outcomes"])
    with engine.begin() as conn:
        for rid, kind, status, started, finished in OLD_RUNS:
            conn.execute(meta.tables["runs"].insert().values(
                id=rid, kind=kind, status=status, started_at=started, finished_at=finished, sources_checked=0,
                new_versions=0, changes=0, failures=0))
        # Rows that refer to the runs: a migration that copied the table would have to drop it under them.
        conn.execute(meta.tables["sources"].insert().values(id="t/a", vendor="T", title="A", document_type="Policy",
                                                            language="en", urls=["https://example.test/a"], tags=[]))
        conn.execute(meta.tables["fetch_outcomes"].insert().values(id=1, run_id=1, source_id="t/a",
                                                                   at=datetime(2019, 3, 1), outcome="first"))
    migrate(engine, db_url, "upgrade", "0017")
    rows = columns(engine, "id", "performed_at", "performed_until")
    assert rows == [
        (1, None, None),  # when an import ran was never stored: it is not made up
        (2, T0, T0 + timedelta(minutes=4)),
        (3, T0 + timedelta(days=1), None),  # an aborted run's end was only noticed later
        (4, T0 + timedelta(days=3), T0 + timedelta(days=3)),
        (5, T0 + timedelta(days=4), None),
    ]
    migrate(engine, db_url, "downgrade", "0016")
    assert {c["name"] for c in inspect(engine).get_columns("runs")}.isdisjoint({"performed_at", "performed_until"})
    assert columns(engine, "id", "kind", "status", "started_at", "finished_at") == OLD_RUNS
    with engine.connect() as conn:
        assert conn.execute(text("SELECT run_id FROM fetch_outcomes")).scalar_one() == 1
    migrate(engine, db_url, "upgrade", "head")
    assert columns(engine, "id", "performed_at")[1] == (2, T0)
    engine.dispose()


def test_an_import_recorded_before_0017_says_its_time_was_not_recorded(tmp_path: Path) -> None:
    cli = CLI(tmp_path / "policywatch.db", write_declarations(tmp_path / "sources.yaml", "https://example.test", [
        {"id": "t/policy", "title": "Policy", "urls": ["/policy"], "select": "main"}]), tmp_path)
    import_history(tmp_path, cli)
    engine = create_engine(f"sqlite:///{cli.db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE runs SET performed_at = NULL, performed_until = NULL"))
    engine.dispose()
    pages = report(cli, tmp_path / "site")
    assert ("Last run on the vendors' documents: #1 (import) performed at a time the record does not hold, "
            "importing files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC") in plain(pages["index.html"])
    assert run_row(pages["runs.html"], 1)[:5] == ["import", "ok", "not recorded", "not recorded",
                                                  "files dated 2019-03-01 00:00 UTC to 2024-06-30 00:00 UTC"]


def test_a_failed_imported_file_and_a_superseded_imported_version_are_worded_as_imported(tmp_path: Path) -> None:
    """The site calls an imported file an imported file: the timeline and the month grid count a failed one as a
    failed imported file, not a failed check; the runs page's failures heading covers imports; a superseded
    imported version nothing confirmed is not "waiting" for a confirmation."""
    decl = write_declarations(tmp_path / "sources.yaml", "https://example.test", [
        {"id": "t/policy", "title": "Policy", "urls": ["/policy"], "select": "main"}])
    cli = CLI(tmp_path / "policywatch.db", decl, tmp_path)
    (tmp_path / "empty.html").write_text(" \n", encoding="utf-8")
    import_history(tmp_path, cli)
    (tmp_path / "failed.jsonl").write_text(json.dumps(
        {"source": "t/policy", "at": "2024-07-01T00:00:00Z", "path": "empty.html"}) + "\n", encoding="utf-8")
    assert "(1 failed)" in cli("import", "--manifest", str(tmp_path / "failed.jsonl"), check=False).stdout
    pages = report(cli, tmp_path / "site")
    source = pages["sources/t/policy/index.html"]
    assert "failed check" not in source and "check failed" not in source
    assert "1 failed imported file" in source
    assert "2024-07-01 00:00 UTC: imported file failed (" in source
    runs_page = plain(pages["runs.html"])
    assert "Failed fetches and imported files" in runs_page and "1 imported file(s) that failed" in runs_page
    first = plain(pages["versions/t/policy/1.html"])
    assert "yet" not in first.split("Confirmed", 1)[-1].split("Text", 1)[0]
    assert "Nothing later confirmed this text before version 2 replaced it: it is known from its imported file " \
           "alone." in first
    assert "Nothing later has confirmed this text yet: it is known from its imported file alone." in \
        plain(pages["versions/t/policy/2.html"])
