"""Whose schema is whose: no command gives policywatch's schema to a database that holds another program's tables,
and `doctor` and `check` only look at a schema, never create or upgrade it. Real SQLite files and PostgreSQL
databases; what each command leaves behind is compared byte for byte (SQLite) or table for table."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, one_source_to_import
from storage.db import database_name, head_revision

FOREIGN_TABLES = ["accounts", "foo", "invoices", "ledger_lines"]


def policywatch(*args: str, db: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    return subprocess.run([sys.executable, "-m", "policywatch", "--db", db, *args], capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=120)


def _tables(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _state(url: str, folder: Path) -> Any:
    """What a command could have written: an SQLite file's bytes and the files beside it, a server's tables and
    the revision it is stamped with."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in folder.iterdir())
    from sqlalchemy import create_engine, text

    tables = _tables(url)
    revision = None
    if "alembic_version" in tables:
        engine = create_engine(url)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
    return tables, revision


def _run_sql(url: str, statements: list[str]) -> None:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))  # rollback journal, as another program leaves it
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the SQLite file lives, and nothing else: the commands run elsewhere."""
    path = tmp_path / "db"
    path.mkdir()
    return path


@pytest.fixture
def url(db_url: str, folder: Path, tmp_path: Path) -> str:
    if db_url.startswith("sqlite:///"):
        return f"sqlite:///{folder / 'other.db'}"
    return db_url


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, str]:
    """Declarations of one source on 127.0.0.1 and a manifest importing a saved page of it."""
    decl, manifest = one_source_to_import(tmp_path)
    return {"sources": str(decl), "manifest": str(manifest)}


COMMANDS = [["sources"], ["changes"], ["history", "t/a"], ["show", "t/a"], ["diff", "t/a"], ["report", "--out", "site"],
            ["import", "--manifest", "m.jsonl"], ["reanalyse"], ["check"]]


def test_no_command_gives_policywatchs_schema_to_another_programs_database(url: str, folder: Path, tmp_path: Path,
                                                                          setup: dict[str, str]) -> None:
    _run_sql(url, [f"CREATE TABLE {name} (x INTEGER)" for name in FOREIGN_TABLES] + ["INSERT INTO foo VALUES (1)"])
    before = _state(url, folder)
    said = (f"the database {database_name(url)} is not a policywatch record: it holds 4 other table(s) (accounts, "
            f"foo, invoices, …) and no policywatch schema; point --db at a policywatch database or a new file (it "
            f"was left as it is)")
    for command in COMMANDS:
        done = policywatch("--sources", setup["sources"], *command, db=url, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr == f"policywatch: {said}\n", (command, done.stderr)
        assert _state(url, folder) == before, command
    doctor = policywatch("--sources", setup["sources"], "doctor", "--out", str(tmp_path / "site"), db=url,
                         cwd=tmp_path)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert [line for line in doctor.stdout.splitlines() if line.startswith("fix ")] == [f"fix   database: {said}"]
    assert "creating" not in doctor.stdout + doctor.stderr and "brings it to" not in doctor.stdout
    assert _state(url, folder) == before


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head_revision()).down_revision
    assert isinstance(previous, str)
    return previous


def test_doctor_and_check_leave_a_schema_as_they_find_it(url: str, folder: Path, tmp_path: Path,
                                                         setup: dict[str, str]) -> None:
    head = head_revision()
    if url.startswith("sqlite:///"):  # a database with no tables at all, as a `sqlite3 FILE` session leaves one
        _run_sql(url, ["PRAGMA user_version = 7"])
    steps = [(None, f"schema none: the next command other than doctor or check creates it ({head})")]
    old = _previous_revision()
    steps.append((old, f"schema {old}: the next command other than doctor or check brings it to {head}"))
    for revision, pending in steps:
        if revision is not None:
            subprocess.run([sys.executable, "-m", "alembic", "-x", f"db={url}", "upgrade", revision], cwd=REPO,
                           check=True, capture_output=True)
        before = _state(url, folder)
        doctor = policywatch("--sources", setup["sources"], "doctor", "--out", str(tmp_path / "site"), db=url,
                             cwd=tmp_path)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        database = [line for line in doctor.stdout.splitlines() if line.startswith("note  database:")]
        assert database and database[0].endswith(f", {pending}"), doctor.stdout
        assert doctor.stderr == "", doctor.stderr
        assert _state(url, folder) == before
        check = policywatch("check", db=url, cwd=tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.splitlines() == [f"note: {pending}", "ok: 0 problem(s); checked nothing"]
        assert check.stderr == "" and _state(url, folder) == before
    # The reading commands bring an older schema up to date, as they always have, and say so.
    changes = policywatch("changes", db=url, cwd=tmp_path)
    assert changes.returncode == 0 and f"upgrading database schema {old} → {head}" in changes.stderr
    assert policywatch("check", db=url, cwd=tmp_path).stdout.startswith("ok: 0 problem(s); checked ")


def test_a_quiet_import_creates_its_schema_silently(url: str, tmp_path: Path, setup: dict[str, str]) -> None:
    quiet = policywatch("-q", "--sources", setup["sources"], "import", "--manifest", setup["manifest"], db=url,
                        cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    assert "alembic_version" in _tables(url)
