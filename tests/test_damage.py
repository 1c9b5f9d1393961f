"""A full disk, a damaged snapshot, a damaged database file, a read-only database, a killed report:
every command says what is wrong in one line, carries on around what it can, and never crashes.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLI, write_declarations
from policywatch.cli import main
from policywatch.localserver import LocalServer, Page

SOURCES = 40


def page(i: int) -> Page:
    # Different words on every page, so that each one takes room in the database.
    words = " ".join(f"w{(i * 7919 + j * 104729) % 1000003:x}" for j in range(900))
    return Page(f"<html><body><main><h1>Policy {i}</h1><p>{words}</p></main></body></html>".encode())


def no_crash(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stdout + result.stderr


def small_filesystem_available() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp && echo ok"],
                           capture_output=True, text=True)
    return None if probe.stdout.strip() == "ok" else f"cannot mount a small tmpfs here: {probe.stderr.strip()}"


def test_a_full_disk_leaves_every_source_recorded_or_named(tmp_path: Path) -> None:
    """The database lives on a 1 MB file system of its own (a tmpfs in a private mount namespace); the first
    crawl of 40 sources fills it part of the way through."""
    missing = small_filesystem_available()
    if missing:
        pytest.skip(missing)
    with LocalServer() as server:
        for i in range(SOURCES):
            server.routes[f"/p/{i}"] = page(i)
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": f"t/p{i:02d}", "urls": [f"/p/{i}"], "select": "main"}
                                   for i in range(SOURCES)])
        full = tmp_path / "full"
        full.mkdir()
        crawl = (f'mount -t tmpfs -o size=1m tmpfs "{full}" && '
                 f'"{sys.executable}" -m policywatch --db "{full}/pw.db" --sources "{decl}" crawl; status=$?; '
                 f'cp "{full}"/pw.db* "{tmp_path}"/; exit $status')
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
        env.update({"POLICYWATCH_AUTOTHROTTLE": "false", "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true"})
        result = subprocess.run(["unshare", "-rm", "sh", "-c", crawl], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=300)
    no_crash(result)
    assert result.returncode in (1, 2)
    named = {line.split()[2].rstrip(":") for line in result.stdout.splitlines() if "NOT RECORDED" in line}
    assert named, result.stdout + result.stderr
    assert all("the database or disk is full" in line for line in result.stdout.splitlines() if "NOT RECORDED" in line)
    with sqlite3.connect(tmp_path / "pw.db") as conn:
        recorded = {sid for (sid,) in conn.execute("select source_id from fetch_outcomes")}
    assert recorded, "some sources were recorded before the disk filled"
    assert recorded | named == {f"t/p{i:02d}" for i in range(SOURCES)}
    assert not recorded & named


def test_a_damaged_snapshot_is_named_and_everything_else_carries_on(tmp_path: Path) -> None:
    with LocalServer() as server:
        for i in range(3):
            server.routes[f"/p/{i}"] = page(i)
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": f"t/p{i}", "urls": [f"/p/{i}"], "select": "main"} for i in range(3)])
        cli = CLI(tmp_path / "pw.db", decl, tmp_path)
        cli("crawl", "--now", "2026-02-01T00:00:00Z")
        with sqlite3.connect(cli.db) as conn:
            sha = conn.execute("select blob_sha256 from snapshots where source_id = 't/p1'").fetchone()[0]
            conn.execute("update blobs set data = ? where sha256 = ?", (b"\x28\xb5\x2f\xfd" + os.urandom(300), sha))
        report = cli("report", "--out", str(tmp_path / "site"), check=False)
        no_crash(report)
        assert report.returncode == 0
        assert f"raw snapshot left out: blob {sha}" in report.stderr
        assert (tmp_path / "site" / "sources").is_dir()
        # The damaged page was the keyframe of the next ones: the next crawl stores them on their own.
        again = cli("crawl", "--now", "2026-02-02T00:00:00Z", check=False)
        no_crash(again)
        assert again.returncode == 0, again.stdout + again.stderr
        with sqlite3.connect(cli.db) as conn:
            assert conn.execute("select count(*) from fetch_outcomes where outcome = 'unchanged'").fetchone() == (3,)
        check = cli("check", check=False)
        assert check.returncode == 1 and sha in check.stdout


def _imported(tmp_path: Path, monkeypatch) -> tuple[Path, list[str]]:  # type: ignore[no-untyped-def]
    """A record of one source with two versions, imported through the command line: its file and the arguments
    that name it."""
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    db = tmp_path / "pw.db"
    (tmp_path / "a.md").write_text("We keep chats for 30 days.\n" * 40, encoding="utf-8")
    (tmp_path / "b.md").write_text("We keep chats for 90 days.\n" * 40, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: t/a, vendor: T, title: A, document_type: P, language: en, "
        "urls: ['https://example.test/']}\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(
        '{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.md"}\n'
        '{"source": "t/a", "at": "2026-01-02T00:00:00Z", "path": "b.md"}\n', encoding="utf-8")
    argv = ["--db", str(db), "--sources", str(tmp_path / "sources.yaml")]
    assert main(argv + ["import", "--manifest", str(tmp_path / "m.jsonl")]) == 0
    return db, argv


def test_a_damaged_keyframe_is_one_problem_naming_the_pages_that_need_it(tmp_path: Path) -> None:
    # Each night's pages are new bytes, kept as deltas against the first night's: when that keyframe is damaged,
    # every page compressed against it fails with its error; `check` says so once, with their count and sources.
    with LocalServer() as server:
        decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                  [{"id": f"t/p{i}", "urls": [f"/p/{i}"], "select": "main"} for i in range(2)])
        cli = CLI(tmp_path / "pw.db", decl, tmp_path)
        for night in (1, 2, 3):
            for i in range(2):
                server.routes[f"/p/{i}"] = Page(page(i).body.replace(b"</body>", f"<!-- {night} --></body>".encode()))
            cli("crawl", "--now", f"2026-02-0{night}T00:00:00Z")
    with sqlite3.connect(cli.db) as conn:
        sha = conn.execute("select blob_sha256 from snapshots where source_id = 't/p1' order by fetched_at").fetchone()[0]
        assert conn.execute("select count(*) from blobs where base_sha256 = ?", (sha,)).fetchone() == (2,)
        # zstd's magic number and then noise, the same each run: whichever error zstd meets first is the problem.
        noise = random.Random(37).randbytes(300)
        conn.execute("update blobs set data = ? where sha256 = ?", (b"\x28\xb5\x2f\xfd" + noise, sha))
    check = cli("check", check=False)
    assert check.returncode == 1
    named = [line for line in check.stdout.splitlines() if sha in line]
    assert len(named) == 1 and named[0].startswith(f"PROBLEM: blob {sha}: "), check.stdout
    assert named[0].endswith(": 3 stored page(s) cannot be read, of t/p1"), named[0]


@pytest.mark.parametrize("seed", range(6))
def test_check_lists_the_problems_of_a_randomly_damaged_file(seed: int, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                              monkeypatch) -> None:
    db, argv = _imported(tmp_path, monkeypatch)
    with sqlite3.connect(db) as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
    data = bytearray(db.read_bytes())
    rng = random.Random(seed)
    # Keep the 100-byte header readable half the time: damage deep inside pages, or anywhere.
    low = 100 if seed % 2 else 0
    for offset in rng.sample(range(low, len(data)), 64):
        data[offset] = rng.randrange(256)
    db.write_bytes(bytes(data))
    capsys.readouterr()
    status = main(argv + ["check"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    assert status in (0, 1)
    if status == 1:
        assert "PROBLEM:" in out and "FAILED:" in out
    for command in (["history", "t/a"], ["report", "--out", str(tmp_path / "site")]):
        status = main(argv + command)
        out, err = capsys.readouterr()
        assert status in (0, 2) and "Traceback" not in err, err
        if status == 2:
            assert len(err.strip().splitlines()) == 1


def test_a_read_only_database_can_still_be_read(tmp_path: Path) -> None:
    """The database on a read-only mount (a bind mount in a private mount namespace, so even root cannot
    write it), with no journal beside it: history, check and report work; a writing command refuses in one
    line."""
    missing = small_filesystem_available()
    if missing:
        pytest.skip(missing)
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "pw.db"
    (tmp_path / "a.md").write_text("We keep chats for 30 days.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("We keep chats for 90 days.\n", encoding="utf-8")
    decl = tmp_path / "sources.yaml"
    decl.write_text("sources:\n  - {id: t/a, vendor: T, title: A, document_type: P, language: en, "
                    "urls: ['https://example.test/']}\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.md"}\n',
                                      encoding="utf-8")
    (tmp_path / "n.jsonl").write_text('{"source": "t/a", "at": "2026-01-02T00:00:00Z", "path": "b.md"}\n',
                                      encoding="utf-8")
    CLI(db, decl, tmp_path)("import", "--manifest", str(tmp_path / "m.jsonl"))
    with sqlite3.connect(db) as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
    for leftover in folder.glob("pw.db-*"):
        leftover.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}

    def read_only(*args: str) -> subprocess.CompletedProcess[str]:
        run = (f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && '
               f'exec "{sys.executable}" -m policywatch --db "{db}" --sources "{decl}" "$@"')
        return subprocess.run(["unshare", "-rm", "sh", "-c", run, "sh", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)

    history = read_only("history", "t/a")
    assert history.returncode == 0 and "v1" in history.stdout, history.stdout + history.stderr
    check = read_only("check")
    assert check.returncode == 0 and "ok: 0 problem(s)" in check.stdout, check.stdout + check.stderr
    report = read_only("report", "--out", str(tmp_path / "site"))
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    refused = read_only("import", "--manifest", str(tmp_path / "n.jsonl"))
    no_crash(refused)
    assert refused.returncode == 2 and "read-only" in refused.stderr, refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_killed_reports_half_written_files_are_removed_by_the_next(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "a.md").write_text("We keep chats for 30 days.\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: t/a, vendor: T, title: A, document_type: P, language: en, "
        "urls: ['https://example.test/']}\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.md"}\n',
                                      encoding="utf-8")
    argv = ["--db", str(tmp_path / "pw.db"), "--sources", str(tmp_path / "sources.yaml")]
    assert main(argv + ["import", "--manifest", str(tmp_path / "m.jsonl")]) == 0
    site = tmp_path / "site"
    assert main(argv + ["report", "--out", str(site)]) == 0
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    (site / "sources").mkdir(exist_ok=True)
    stale = [site / f".84.html.{dead}.tmp", site / "sources" / f".index.html.{dead}.tmp"]
    for path in stale:
        path.write_text("half a page", encoding="utf-8")
    live = site / f".index.html.{os.getppid()}.tmp"  # a build still running (its process is alive)
    live.write_text("being written", encoding="utf-8")
    assert main(argv + ["report", "--out", str(site)]) == 0
    assert not any(path.exists() for path in stale)
    assert live.exists()


def test_check_flags_records_dated_in_the_future(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A record written by an older policywatch from a manifest typo (2062 for 2026)."""
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "a.md").write_text("We keep chats for 30 days.\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: t/a, vendor: T, title: A, document_type: P, language: en, "
        "urls: ['https://example.test/']}\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.md"}\n',
                                      encoding="utf-8")
    argv = ["--db", str(tmp_path / "pw.db"), "--sources", str(tmp_path / "sources.yaml")]
    assert main(argv + ["import", "--manifest", str(tmp_path / "m.jsonl")]) == 0
    assert main(argv + ["check"]) == 0
    with sqlite3.connect(tmp_path / "pw.db") as conn:
        conn.execute("insert into fetch_outcomes (run_id, source_id, at, outcome, failure_kind, detail) "
                     "values (1, 't/a', '2062-01-02 00:00:00', 'failed', 'empty', 'typo')")
    capsys.readouterr()
    assert main(argv + ["check"]) == 1
    assert "PROBLEM: t/a: 1 fetch outcome(s) dated in the future, the latest 2062-01-02T00:00:00Z" in \
        capsys.readouterr().out


@pytest.mark.parametrize("command", [["history", "t/a"], ["show", "t/a"], ["diff", "t/a"], ["history", "t/a", "--json"]])
def test_a_damaged_version_text_is_one_line_not_a_crash(tmp_path: Path, command: list[str]) -> None:
    from datetime import datetime, timedelta, timezone

    from ingest.record import record_text
    from storage.db import make_engine, session_factory, transaction, upgrade
    from storage.models import SourceFields
    from storage.record import RawPage, start_run, upsert_source

    db = tmp_path / "record.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with transaction(session_factory(engine)) as session:
        upsert_source(session, SourceFields(id="t/a", vendor="T", title="A", document_type="Privacy Policy",
                                            language="en", urls=("http://127.0.0.1/a",)))
        run = start_run(session, "crawl", datetime(2026, 1, 1, tzinfo=timezone.utc))
        for day, text in enumerate(["We keep chats for 30 days.\n", "We keep chats for 90 days.\n"]):
            record_text(session, run_id=run.id, source_id="t/a", at=datetime(2026, 1, 1, tzinfo=timezone.utc)
                        + timedelta(days=day), pages=[RawPage("http://127.0.0.1/a", "http://127.0.0.1/a", 200,
                                                             "text/html", text.encode())], text=text)
    engine.dispose()
    with sqlite3.connect(db) as conn:
        for sha, data in conn.execute("SELECT sha256, data FROM version_texts").fetchall():
            damaged = bytearray(data)
            damaged[len(damaged) // 2] ^= 0xFF
            conn.execute("UPDATE version_texts SET data = ? WHERE sha256 = ?", (bytes(damaged), sha))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), *command], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    no_crash(done)
    assert done.returncode == 2
    assert done.stderr.startswith(f"policywatch: the database file {db} is damaged (version text ")
    assert done.stderr.rstrip().endswith("`policywatch check` lists what it can")


@pytest.mark.parametrize("command", [["report", "--out", "site"], ["diff", "t/a"], ["changes", "--json"]])
def test_a_damaged_json_value_is_one_line_not_a_crash(tmp_path: Path, command: list[str], capsys,  # type: ignore[no-untyped-def]
                                                      monkeypatch) -> None:
    # A JSON column that no longer parses (a damaged page of the file) is read through SQLAlchemy by these
    # commands: the database's state, said in one line, as a damaged text or time is.
    monkeypatch.chdir(tmp_path)
    db, argv = _imported(tmp_path, monkeypatch)
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE changes SET evidence = '[{\"sent' , flags = '[\"ret'").rowcount == 1
        conn.execute("UPDATE sources SET urls = '[\"https://exa'")
    capsys.readouterr()
    status = main(argv + command)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"policywatch: the database file {db} is damaged (a stored ")


def test_damage_where_sqlite_keeps_the_schema_is_checks_one_problem(tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                                   monkeypatch) -> None:
    # A byte of a table's name, in its row of the schema and in its CREATE statement, made one no UTF-8 text
    # holds: SQLite cannot read the schema, and its error, which names the table, does not decode. `check`
    # reports that as the one problem; other commands in one line.
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    from storage.db import make_engine, upgrade

    db = tmp_path / "pw.db"
    engine = make_engine(f"sqlite:///{db}")
    assert upgrade(engine) is True
    engine.dispose()
    data = bytearray(db.read_bytes())
    for before in (b"table" + b"so", b"CREATE TABLE so"):  # the schema row: type, name, table's name, …
        at = data.find(before + b"urces")
        assert at > 0
        data[at + len(before)] = 0xF3
    db.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["--db", str(db), "check"]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM: the database cannot be opened: the database file {db} is damaged" in out
    assert main(["--db", str(db), "history", "t/a"]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and len(err.strip().splitlines()) == 1
