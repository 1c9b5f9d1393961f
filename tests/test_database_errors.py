"""Errors about the database, as a user meets them: each names the database (an SQLite file by its path, a
PostgreSQL database as NAME on HOST:PORT), never a password; a database written by a newer policywatch is said
to be that, and left untouched; `doctor` reports a database it cannot use as one failed check and goes on."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from storage.db import database_name, database_url, redact_url

NEWER = "ffff0042newer"  # a revision no migration in alembic/versions names


def policywatch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "policywatch", *args], capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=120)


def free_port() -> int:
    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _schema(url: str) -> Any:
    """What a newer policywatch's database holds that an attempt to migrate or write would change."""
    from sqlalchemy import inspect, text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            tables = sorted(inspect(conn).get_table_names())
            sources = conn.execute(text("SELECT count(*) FROM sources")).scalar()
        return revision, tables, sources
    finally:
        engine.dispose()


@pytest.fixture
def newer(db_url: str) -> str:
    """A database at a schema revision this policywatch does not know, as a newer one would leave it."""
    from sqlalchemy import text

    from storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER})
    engine.dispose()
    return db_url


def _fingerprint(url: str) -> Any:
    file = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///"):
        return hashlib.sha256(Path(file).read_bytes()).hexdigest(), _schema(url)
    return _schema(url)


@pytest.mark.parametrize("command", [["changes"], ["show", "t/a"], ["history", "t/a"], ["diff", "t/a"], ["sources"],
                                     ["reanalyse"]])
def test_a_newer_policywatchs_database_is_said_to_be_that_and_left_alone(newer: str, tmp_path: Path,
                                                                          command: list[str]) -> None:
    before = _fingerprint(newer)
    done = policywatch("--db", newer, *command, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (f"policywatch: the database {database_name(newer)} was written by a newer policywatch "
                           f"(schema revision '{NEWER}'; this one knows up to {_head()}): upgrade policywatch to use "
                           f"it; it was left as it is\n")
    assert _fingerprint(newer) == before


def _head() -> str:
    from storage.db import head_revision

    return head_revision()


def test_check_and_doctor_call_a_newer_database_newer_not_damaged(newer: str, tmp_path: Path) -> None:
    before = _fingerprint(newer)
    said = (f"the database {database_name(newer)} was written by a newer policywatch (schema revision '{NEWER}'; "
            f"this one knows up to {_head()}): upgrade policywatch to use it; it was left as it is")
    check = policywatch("--db", newer, "check", cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert check.stdout.splitlines() == [f"PROBLEM: {said}", "FAILED: 1 problem(s); checked nothing"]
    doctor = policywatch("--db", newer, "doctor", "--out", str(tmp_path / "site"), cwd=tmp_path)
    assert doctor.returncode == 1, doctor.stderr
    fixes = [line for line in doctor.stdout.splitlines() if line.startswith("fix ")]
    assert fixes == [f"fix   database: {said}"], doctor.stdout
    assert "damaged" not in check.stdout + doctor.stdout and "brings it to" not in doctor.stdout
    assert _fingerprint(newer) == before


def test_doctor_lists_every_check_past_a_database_it_cannot_open(tmp_path: Path) -> None:
    garbage = tmp_path / "copy.db"
    garbage.write_bytes(b"this is not an SQLite database, only some bytes " * 200)
    port = free_port()
    for db, named in ((str(garbage), f"the database file {garbage} is damaged (file is not a database)"),
                      (f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{port}/record",
                       f"the database record on 127.0.0.1:{port} cannot be reached (")):
        done = policywatch("--db", db, "doctor", "--out", str(tmp_path / "site"), cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        database = [line for line in lines if line.split()[1:2] == ["database:"]]
        assert len(database) == 1 and database[0].startswith(f"fix   database: cannot read it: {named}"), lines
        topics = {line.split()[1].rstrip(":") for line in lines[:-1]}
        assert {"settings", "database", "browser", "sources", "news", "claims", "report"} <= topics, lines
        assert lines[-1].startswith("policywatch doctor: ") and lines[-1].endswith("thing(s) to fix")
        assert "s3cret" not in done.stdout + done.stderr


def test_errors_name_the_sqlite_file(tmp_path: Path) -> None:
    garbage = tmp_path / "copy.db"
    garbage.write_bytes(b"not a database " * 400)
    damaged = policywatch("--db", str(garbage), "changes", cwd=tmp_path)
    assert damaged.returncode == 2
    assert damaged.stderr.startswith(f"policywatch: the database file {garbage} is damaged (file is not a database)")
    checked = policywatch("--db", str(garbage), "check", cwd=tmp_path)
    assert checked.stdout.startswith(f"PROBLEM: the database cannot be opened: the database file {garbage} is damaged")
    assert "lists what it can" not in checked.stdout, "check does not advise itself"

    from storage.db import make_engine, upgrade

    db = tmp_path / "pw.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(60)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    try:
        locked = policywatch("--db", str(db), "reanalyse", cwd=tmp_path, env={"POLICYWATCH_LOCK_TIMEOUT": "1"})
    finally:
        release.set()
        holder.join()
    assert locked.returncode == 2
    assert locked.stderr.startswith(f"policywatch: the database {db} is locked: another policywatch command"), \
        locked.stderr


def test_errors_name_the_postgresql_database_never_its_password(tmp_path: Path) -> None:
    server = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    from sqlalchemy.engine import make_url

    url = make_url(server)
    missing = url.set(password="s3cret", database="pw_no_such_database").render_as_string(hide_password=False)
    done = policywatch("--db", missing, "changes", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"policywatch: the database pw_no_such_database on {url.host}:{url.port} "
                                  "cannot be reached (")
    assert "s3cret" not in done.stderr


def test_a_postgres_url_is_read_as_psycopg(tmp_path: Path) -> None:
    server = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    from conftest import fresh_postgres_database

    with fresh_postgres_database(server) as url:
        alias = "postgres://" + url.split("://", 1)[1]
        done = policywatch("--db", alias, "changes", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "no changes recorded\n"


@pytest.mark.parametrize("url", ["mysql://reader:s3cret@127.0.0.1:1/record",
                                 "postgresql+nodriver://reader:s3cret@127.0.0.1:1/record",
                                 "nosuchdialect://reader:s3cret@127.0.0.1/record?password=s3cret",
                                 "not a url://reader:s3cret@127.0.0.1/record",
                                 "postgresql+psycopg://reader:s3cret@127.0.0.1:port/record"])
def test_an_unsupported_url_is_shown_without_its_password(tmp_path: Path, url: str) -> None:
    for command in (["changes"], ["doctor", "--out", str(tmp_path / "site")], ["check"]):
        done = policywatch("--db", url, *command, cwd=tmp_path)
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stdout + done.stderr
        assert "s3cret" not in done.stdout + done.stderr
        assert "reader:***@127.0.0.1" in done.stdout + done.stderr
        assert "damaged" not in done.stdout + done.stderr
    # `check` says what every other command says of a URL it cannot use (a missing driver, an unknown dialect).
    changes, check = (policywatch("--db", url, command, cwd=tmp_path) for command in ("changes", "check"))
    assert (check.returncode, check.stdout, check.stderr) == (2, "", changes.stderr)


def test_a_damaged_postgresql_database_is_no_file(db_url: str, tmp_path: Path) -> None:
    """A schema with a piece missing: on PostgreSQL the database is damaged, not a "file"."""
    from sqlalchemy import text

    from storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE sources DROP COLUMN title"))
    engine.dispose()
    name = database_name(db_url)
    the = "the database file" if db_url.startswith("sqlite") else "the database"
    for command in (["sources"], ["history", "t/a"], ["changes"]):
        done = policywatch("--db", db_url, *command, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.startswith(f"policywatch: {the} {name} is damaged ("), (command, done.stderr)
        assert done.stderr.endswith("); `policywatch check` lists what it can\n"), done.stderr


def test_a_damaged_value_names_a_server_database_without_file() -> None:
    from storage.db import database_problem

    said = database_problem(ValueError("bad time"), database="pw on db.example.org:5432")
    assert said.startswith("the database pw on db.example.org:5432 is damaged (a stored value does not read back")
    said = database_problem(ValueError("bad time"), database="/srv/pw.db", advise_check=False)
    assert said == "the database file /srv/pw.db is damaged (a stored value does not read back: bad time)"


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://u:pw@h:5/db", "postgresql+psycopg://u:***@h:5/db"),
    ("postgresql+psycopg://u:p@ss/w:rd@h/db", "postgresql+psycopg://u:***@h/db"),
    ("postgresql+psycopg://u@h/db?password=pw&sslmode=require",
     "postgresql+psycopg://u@h/db?password=***&sslmode=require"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////srv/pw.db", "sqlite:////srv/pw.db"),
    ("/srv/pw.db", "/srv/pw.db"),
])
def test_urls_are_shown_without_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url, name", [
    ("sqlite:////srv/pw.db", "/srv/pw.db"),
    ("sqlite:///pw.db", "pw.db"),
    ("sqlite:///file:/srv/pw.db?mode=ro&immutable=1&uri=true", "/srv/pw.db"),
    ("sqlite://", "in memory (sqlite://)"),
    ("postgresql+psycopg://u:pw@db.example.org/policywatch", "policywatch on db.example.org:5432"),
    ("postgresql+psycopg://u:pw@127.0.0.1:54329/pw", "pw on 127.0.0.1:54329"),
    ("postgresql+psycopg:///pw?host=/run/pg", "pw on the socket in /run/pg (port 5432)"),
    ("postgresql+psycopg://u@/pw?host=/run/pg&port=5433", "pw on the socket in /run/pg (port 5433)"),
    ("postgresql+psycopg://u@127.0.0.1:99999/pw", "pw on 127.0.0.1:99999 (an invalid port)"),
    ("postgresql+psycopg://u:pw@ret@127.0.0.1:1/pw", "pw on 127.0.0.1:1"),
    ("postgresql+psycopg://u:p@ss/w:rd@db.example.org/pw", "pw on db.example.org:5432"),
    ("postgresql+psycopg://u@[::1]:5433/pw", "pw on [::1]:5433"),
])
def test_databases_are_named_by_file_or_name_host_and_port(url: str, name: str) -> None:
    assert database_name(url) == name and "pw@" not in database_name(url) and "ret" not in database_name(url)


def test_a_database_on_the_default_socket_is_named_by_its_directory() -> None:
    from storage.db import _default_socket_directory

    directory = _default_socket_directory()
    assert directory.startswith("/")
    assert database_name("postgresql+psycopg:///pw") == f"pw on the socket in {directory} (port 5432)"


def test_an_at_sign_in_a_password_is_the_passwords() -> None:
    url = database_url("postgresql+psycopg://postgres:pw@ret@127.0.0.1:1/x")
    assert url == "postgresql+psycopg://postgres:pw%40ret@127.0.0.1:1/x"
    assert redact_url(url) == "postgresql+psycopg://postgres:***@127.0.0.1:1/x"
    assert database_url("postgres://u:a@b@h/x") == "postgresql+psycopg://u:a%40b@h/x"
    assert database_url("sqlite:////srv/a@b/pw.db") == "sqlite:////srv/a@b/pw.db"


@pytest.fixture
def declared(tmp_path: Path) -> dict[str, str]:
    """One source on 127.0.0.1 (never fetched: the database fails first) and a manifest importing a page of it."""
    from conftest import one_source_to_import

    decl, _ = one_source_to_import(tmp_path)
    return {"POLICYWATCH_SOURCES": str(decl), "POLICYWATCH_NEWS": str(Path(__file__).parent / "data" / "news" /
                                                                      "declarations" / "none.yaml")}


# A server that is not there, each way a URL can fail to reach one: no socket at the path, a port nothing listens
# on, a port that is no port, a host name that no resolver resolves (`.invalid`), an `@` left in the password.
UNREACHABLE = [
    ("postgresql+psycopg://postgres@/x?host={tmp}/nosock", "x on the socket in {tmp}/nosock (port 5432)"),
    ("postgresql+psycopg://postgres@127.0.0.1:{port}/x", "x on 127.0.0.1:{port}"),
    ("postgresql+psycopg://postgres@127.0.0.1:99999/x", "x on 127.0.0.1:99999 (an invalid port)"),
    ("postgresql+psycopg://postgres@nohost.invalid:5432/x", "x on nohost.invalid:5432"),
    ("postgresql+psycopg://postgres:s3cret@ret@127.0.0.1:{port}/x", "x on 127.0.0.1:{port}"),
]


@pytest.mark.parametrize("url, name", UNREACHABLE)
def test_a_server_that_cannot_be_reached_is_one_line_naming_it(tmp_path: Path, declared: dict[str, str], url: str,
                                                                name: str) -> None:
    port = free_port()
    url, name = url.format(tmp=tmp_path, port=port), name.format(tmp=tmp_path, port=port)
    commands = [["sources"], ["show", "t/a"], ["report", "--out", "site"], ["import", "--manifest", "m.jsonl"],
                ["crawl"], ["changes"]]
    for command in commands:
        done = policywatch("--db", url, *command, cwd=tmp_path, env=declared)
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and len(lines) == 1, (command, done.stderr)
        assert lines[0].startswith(f"policywatch: the database {name} cannot be reached ("), (command, lines)
        assert "s3cret" not in done.stdout + done.stderr and "ret@" not in done.stderr
    doctor = policywatch("--db", url, "doctor", "--out", str(tmp_path / "site"), cwd=tmp_path, env=declared)
    database = [line for line in doctor.stdout.splitlines() if line.startswith("fix   database:")]
    assert doctor.returncode == 1 and len(database) == 1, doctor.stdout + doctor.stderr
    assert database[0].startswith(f"fix   database: cannot read it: the database {name} cannot be reached (")
    check = policywatch("--db", url, "check", cwd=tmp_path, env=declared)
    assert check.returncode == 1 and check.stderr == "", check.stderr
    assert check.stdout.startswith(f"PROBLEM: the database cannot be opened: the database {name} cannot be reached (")
    assert "s3cret" not in doctor.stdout + check.stdout and "ret@" not in doctor.stdout + check.stdout


def test_a_url_that_does_not_parse_is_named_without_its_password() -> None:
    from storage.db import DatabaseError, backend_name

    with pytest.raises(DatabaseError) as raised:
        backend_name("not a url://reader:s3cret@127.0.0.1/record")
    assert str(raised.value) == "--db not a url://reader:***@127.0.0.1/record: not a database URL or SQLite file path"


def test_postgres_urls_are_read_as_psycopg() -> None:
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert database_url("pw.db") == "sqlite:///pw.db"


def test_a_folder_given_as_the_database_is_named_as_one(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    done = policywatch("--db", str(folder), "changes", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == (
        f"policywatch: --db {folder}: is a folder, not a database file (an SQLite file such as "
        f"{folder / 'policywatch.db'}, or a database URL)\n")
    assert list(folder.iterdir()) == [], "nothing is created in it"


@pytest.mark.parametrize(("held", "timeout", "said"), [(0.2, 10.0, False), (2.5, 10.0, True), (None, 10.0, False)])
def test_a_writer_says_when_it_waits_for_another_past_a_second(held: float | None, timeout: float, said: bool,
                                                               tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import text

    from conftest import hold_write_lock
    from storage.db import make_engine, session_factory, transaction, upgrade

    db = tmp_path / "pw.db"
    engine = make_engine(f"sqlite:///{db}", lock_timeout=timeout)
    upgrade(engine)
    started, holder = threading.Event(), None
    if held is not None:
        holder = threading.Thread(target=hold_write_lock, args=(db, held, started))
        holder.start()
        started.wait()
    with caplog.at_level("WARNING", logger="storage.db"), transaction(session_factory(engine)) as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS t (x)"))
        # The busy timeout the transaction runs with is lock_timeout's whole, whether it waited or not.
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == int(timeout * 1000)
    if holder is not None:
        holder.join()
    lines = [r.getMessage() for r in caplog.records if r.name == "storage.db"]
    assert lines == ([f"{db}: another writer holds its write lock; waiting up to 9 s more for it to finish "
                      "(lock_timeout)"] if said else []), lines
    engine.dispose()


def test_an_engine_says_its_first_wait_and_logs_the_later_ones(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    # A crawl writes each source in a transaction of its own: another writer that keeps taking the lock would
    # otherwise be said once per source.
    from sqlalchemy import text

    from conftest import hold_write_lock
    from storage.db import make_engine, session_factory, transaction, upgrade

    db = tmp_path / "pw.db"
    engine = make_engine(f"sqlite:///{db}", lock_timeout=10.0)
    upgrade(engine)
    with caplog.at_level("INFO", logger="storage.db"):
        for _ in range(2):
            started = threading.Event()
            holder = threading.Thread(target=hold_write_lock, args=(db, 2.5, started))
            holder.start()
            started.wait()
            with transaction(session_factory(engine)) as session:
                session.execute(text("CREATE TABLE IF NOT EXISTS t (x)"))
            holder.join()
    assert [r.levelname for r in caplog.records if "another writer" in r.getMessage()] == ["WARNING", "INFO"]
    engine.dispose()


@pytest.mark.parametrize("quiet", [False, True])
def test_a_wait_is_said_by_a_command_unless_it_is_quiet(quiet: bool, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import hold_write_lock, one_source_to_import
    from policywatch.cli import main

    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    decl, manifest = one_source_to_import(tmp_path)
    db = tmp_path / "pw.db"
    argv = ["--db", str(db), "--sources", str(decl)]
    from storage.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    started = threading.Event()
    # Held long enough that the command, started meanwhile, still waits more than a second for it.
    holder = threading.Thread(target=hold_write_lock, args=(db, 5.0, started))
    holder.start()
    started.wait()
    assert main((["-q"] if quiet else []) + argv + ["import", "--manifest", str(manifest)]) == 0
    holder.join()
    said = [line for line in capsys.readouterr().err.splitlines() if "another writer" in line]
    assert said == ([] if quiet else [f"policywatch: {db}: another writer holds its write lock; waiting up to 29 s "
                                      "more for it to finish (lock_timeout)"])
