"""Engine, sessions and schema upgrades (through Alembic only); plain DB-API connections for reading.

Alembic is imported only when the schema is not at its newest revision: a
command on an up-to-date database reads the revision it is at with one query
and compares it with the newest one named in the migration files. SQLAlchemy
itself is imported only by the functions that use it: `plain_connection`
opens an up-to-date database for `storage.reader` without it, so the reading
commands start in a fraction of the time (see bench/startup_speed.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from analysis.errors import UserInputError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import URL, Connection, Engine
    from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = REPO_ROOT / "alembic"
# How long a command waits for another one writing to the same database before giving up (`lock_timeout`).
LOCK_TIMEOUT = 30.0
DEFAULT_DB_URL = "sqlite:///policywatch.db"
# An execution option: the transaction will write, so on SQLite it takes the write lock when it begins.
WRITES = "policywatch_writes"
# Schema upgrades of one PostgreSQL database are serialised on this advisory lock.
_UPGRADE_LOCK_KEY = 0x706F6C6963790001

_log = logging.getLogger(__name__)


class DatabaseError(UserInputError, RuntimeError):
    pass


class NewerSchemaError(DatabaseError):
    """The database is at a schema revision this policywatch does not know: a newer policywatch wrote it. It is
    neither migrated nor written."""


class DamagedDatabaseError(DatabaseError):
    """SQLite cannot read what it keeps of the file's settings or schema: damage that `check` reports as its one
    problem, and that every other command reports in one line."""

    def __init__(self, original: BaseException) -> None:
        self.detail = f"what SQLite keeps of its schema does not read back: {str(original)[:120]}"
        super().__init__(damaged(self.detail))


class ForeignDatabaseError(DatabaseError):
    """The database holds tables that are not policywatch's and no policywatch schema: another program's
    database, which policywatch neither gives its schema nor writes."""


class StoredValueError(ValueError):
    """A stored value that does not read back as its column's type (`storage.reader`, `stored_json`): a damaged
    record."""


def stored_json(value: str | bytes) -> Any:
    """A JSON column's value as SQLAlchemy reads it back (text from SQLite; bytes from psycopg, which the server
    checked when they were written): one that no longer parses is a damaged record, which a command reports in
    one line, not a crash."""
    try:
        return json.loads(value)
    except ValueError as exc:
        raise StoredValueError(f"a stored JSON value does not parse: {exc}") from None


# What SQLite (or PostgreSQL) says, and what it means for the user, in one line; `{the}` is "the database" or,
# when the caller knows which, "the database NAME" (`database_name`).
# SQLite's words for a lock another connection holds (`database_problem`, `lock_not_available`).
_LOCKED = ("database is locked", "database is busy", "database table is locked")
_PROBLEMS = (
    (_LOCKED,
     "{the} is locked: another policywatch command has been writing to it for more than {timeout:g} s "
     "(lock_timeout); try again when it has finished"),
    (("database or disk is full", "no space left on device"), "{the} or {its}disk is full"),
    (("disk i/o error",), "a disk I/O error while using {the}"),
    # A damaged file also shows as text that does not decode or as a schema with pieces missing.
    (("malformed", "file is not a database", "file is encrypted", "could not decode", "no such column",
      "no such table", "database schema has changed"),
     "{the_file} is damaged ({detail}){advice}"),
    (("readonly database", "read-only"), "{the} is read-only ({detail})"),
    (("unable to open database",), "{the_file} cannot be opened ({detail})"),
    # PostgreSQL: the server is not there, refuses the connection, or has no such database; no socket at the path,
    # a host name that does not resolve, a port that is no port.
    (("connection failed", "could not connect to server", "connection refused", "connection to server",
      "connection is bad", "failed to resolve host", "could not translate host name", "invalid port number",
      "timeout expired"),
     "{the} cannot be reached ({detail})"),
)
# PostgreSQL's words for SQLite's "no such column" and "no such table" (psycopg's error classes): a schema with
# pieces missing. Its message ("column sources.title does not exist") is too like others to be matched as text.
_DAMAGE_ON_A_SERVER = ("UndefinedColumn", "UndefinedTable")
# `postgres://` (Heroku's and many hosts' spelling) is no SQLAlchemy dialect: it is read as the driver policywatch
# installs.
_POSTGRES_ALIAS = "postgres://"
_PSYCOPG = "postgresql+psycopg://"
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def database_url(value: str) -> str:
    """The SQLAlchemy URL for a configured database: a URL as it is (``postgres://`` read as
    ``postgresql+psycopg://``, an ``@`` left unescaped in the password escaped), a bare path as an SQLite file."""
    if value.startswith(_POSTGRES_ALIAS):
        value = _PSYCOPG + value[len(_POSTGRES_ALIAS):]
    if "://" in value:
        return _escape_userinfo(value)
    return f"sqlite:///{Path(value).expanduser()}"


def _authority(rest: str) -> int:
    """Where the authority (``USER:PASSWORD@HOST:PORT``) of a URL's part after ``://`` ends: at the first ``/`` or
    ``?`` after its last ``@``, so that a password may hold either."""
    end = len(rest)
    for stop in "/?":
        at = rest.find(stop, rest.rfind("@") + 1)
        if at != -1:
            end = min(end, at)
    return end


def _escape_userinfo(url: str) -> str:
    # Only the last `@` ends the user part: one in a password (`pw@ret`) is the password's, not the host's, and is
    # escaped so that SQLAlchemy and the driver do not read the rest of the password as the host.
    scheme, _, rest = url.partition("://")
    if scheme.split("+", 1)[0] == "sqlite":
        return url
    end = _authority(rest)
    userinfo, at_sign, host = rest[:end].rpartition("@")
    if not at_sign or "@" not in userinfo:
        return url
    return f"{scheme}://{userinfo.replace('@', '%40')}@{host}{rest[end:]}"


def redact_url(url: str) -> str:
    """`url` as it may be shown: a password, in the user part or as a ``password=`` parameter, is ``***``."""
    scheme, found, rest = url.partition("://")
    if not found:
        return url
    authority_end = _authority(rest)
    userinfo, at_sign, host = rest[:authority_end].rpartition("@")
    if at_sign and ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{host}{rest[authority_end:]}"
    return _PASSWORD_IN_QUERY.sub(r"\1***", f"{scheme}://{rest}")


def database_name(url: str) -> str:
    """How messages name a database: an SQLite file by its path, a server's database as ``NAME on HOST:PORT`` (or
    ``NAME on the socket in DIRECTORY``); never with a password, nor anything else before the last ``@`` of the
    authority. Without SQLAlchemy, which the reading commands do not import."""
    from urllib.parse import parse_qs, unquote

    scheme, found, rest = url.partition("://")
    if not found:
        return url
    if scheme.split("+", 1)[0] == "sqlite":
        database = rest[1:] if rest.startswith("/") else rest
        database = database.split("?", 1)[0]
        if database.startswith("file:"):
            database = database[len("file:"):]
        return database if database and database != ":memory:" else "in memory (sqlite://)"
    end = _authority(rest)
    hostport = rest[:end].rpartition("@")[2]
    path, _, query = rest[end:].partition("?")
    name = unquote(path.lstrip("/")) or "(the default database)"
    parameters = parse_qs(query)
    host, port = _host_and_port(hostport)
    host = host or unquote(parameters.get("host", [""])[0])
    port = port or parameters.get("port", [""])[0]
    postgres = scheme.split("+", 1)[0] == "postgresql"
    if not port and postgres:
        port = "5432"
    invalid = " (an invalid port)" if port and not (port.isdigit() and 0 < int(port) < 65536) else ""
    if postgres and (not host or host.startswith("/")):
        # No host is the server's Unix socket, in the directory libpq was built with.
        directory = host or _default_socket_directory()
        return f"{name} on the socket in {directory} (port {port}{invalid})"
    shown_host = f"[{host}]" if ":" in host else host or "localhost"
    return f"{name} on {shown_host}{f':{port}' if port else ''}{invalid}"


def _host_and_port(hostport: str) -> tuple[str, str]:
    from urllib.parse import unquote

    if hostport.startswith("["):  # [IPv6]:PORT
        host, _, after = hostport[1:].partition("]")
        return host, after.removeprefix(":")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    return unquote(host), port


def _default_socket_directory() -> str:
    try:
        from psycopg import pq

        for option in pq.Conninfo.get_defaults():
            if option.keyword == b"host" and option.compiled:
                return option.compiled.decode()
    except Exception:  # no driver, or one that cannot say: the usual Debian directory
        pass
    return "/var/run/postgresql"


def _names(database: str | None, advise_check: bool) -> tuple[str, str, str]:
    """How a message names the database (see `database_name`): as such, as a file where it is one (an SQLite
    database is a file the user can copy or restore; a server's is not), and the advice it ends with."""
    the = f"the database {database}" if database else "the database"
    the_file = f"the database file {database}" if database and not is_server_name(database) else the
    return the, the_file, "; `policywatch check` lists what it can" if advise_check else ""


def damaged(detail: str, database: str | None = None, advise_check: bool = True) -> str:
    """One line saying the database (named `database`, when given) is damaged, and what showed it."""
    _, the_file, advice = _names(database, advise_check)
    return f"{the_file} is damaged ({detail}){advice}"


def database_problem(exc: BaseException, lock_timeout: float = LOCK_TIMEOUT, database: str | None = None,
                     advise_check: bool = True) -> str:
    """One line saying what went wrong with the database (named `database`, see `database_name`, when given),
    for a message to the user; `advise_check` False within `policywatch check`, which is what it would advise."""
    the, the_file, advice = _names(database, advise_check)
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, NewerSchemaError):
        return str(original)
    if isinstance(original, ValueError) and not _is_dbapi_error(original):
        return damaged(f"a stored value does not read back: {str(original)[:120]}", database, advise_check)
    detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if type(original).__name__ in _DAMAGE_ON_A_SERVER:
        return damaged(detail, database, advise_check)
    lowered = detail.lower()
    for needles, message in _PROBLEMS:
        if any(n in lowered for n in needles):
            return message.format(timeout=lock_timeout, detail=detail, the=the, the_file=the_file,
                                  its="its " if database else "", advice=advice)
    return f"{the}: {type(original).__name__}: {detail}" if database else f"{type(original).__name__}: {detail}"


_SERVER_NAME = re.compile(r".* on (the socket in .*|\S+:\S+)")


def lock_not_available(exc: BaseException) -> bool:
    """Whether a statement failed because another writer held a lock it needed: SQLite's write lock, or a
    PostgreSQL lock not granted within its `lock_timeout`."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) == "55P03":  # PostgreSQL's lock_not_available (psycopg)
        return True
    lowered = str(orig).lower()
    return any(words in lowered for words in _LOCKED)


def is_server_name(database: str) -> bool:
    """Whether `database_name` named a server's database ("NAME on HOST:PORT"), not an SQLite file by its path."""
    return _SERVER_NAME.fullmatch(database) is not None and not Path(database).exists()


def _is_dbapi_error(exc: BaseException) -> bool:
    # Only an imported SQLAlchemy can have raised its own errors.
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.DBAPIError)


def is_database_problem(exc: BaseException) -> bool:
    """Whether the error is the database's state (locked, full, damaged, read-only), not a mistake in a query."""
    original = getattr(exc, "orig", None) or exc
    if type(original).__name__ in _DAMAGE_ON_A_SERVER:
        return True
    lowered = str(original).lower()
    return any(n in lowered for needles, _ in _PROBLEMS for n in needles)


def parse_url(url: str) -> URL:
    """SQLAlchemy's reading of a configured database URL; one that does not parse is a `DatabaseError` that shows
    it without its password (SQLAlchemy's own message quotes it whole)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:
        raise DatabaseError(f"--db {redact_url(url)}: not a database URL or SQLite file path") from None


def backend_name(url: str) -> str:
    """``sqlite``, ``postgresql``…: the kind of database a configured URL names."""
    return parse_url(url).get_backend_name()


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, or None (another database, or an in-memory one)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = parsed.database
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
    return Path(database).expanduser()


def _read_only(path: Path) -> bool:
    """An existing SQLite file that this process cannot write, or whose folder it cannot write (the WAL
    journal lives beside the file)."""
    return path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK))


def _sqlite_prepare(dbapi_connection: Any, lock_timeout: float, read_only: bool) -> None:
    # Transactions are begun explicitly (`_sqlite_begin`, `storage.reader.reading`), not by the driver, which
    # would begin them only before a write and leave reads outside any transaction: a report would then read a
    # crawl's half-written record.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        if not read_only and _may_journal(cursor):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    except UnicodeDecodeError as exc:  # a damaged header or schema page
        raise DamagedDatabaseError(exc) from None
    finally:
        cursor.close()


def _may_journal(cursor: Any) -> bool:
    """Whether the file may be switched to the WAL journal, which is written into its header: a policywatch record
    only, never a database of something else nor one without tables yet (`upgrade` switches it when it creates the
    schema, after making sure the database is no other program's)."""
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return False
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    return cursor.fetchone() is not None


def _sqlite_setup(lock_timeout: float, read_only: bool) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        _sqlite_prepare(dbapi_connection, lock_timeout, read_only)
    return connect


# How long a writer waits for SQLite's write lock before saying that it waits for another writer.
QUIET_WAIT = 1.0


def _sqlite_begin(lock_timeout: float, database: str, say: Callable[[str], None] | None
                  ) -> Callable[[Connection], None]:
    """The begin event of an SQLite engine. A writer takes the write lock at once (waiting up to the busy timeout):
    a transaction that read first and wrote later could not take it without failing when another writer committed
    in between. A wait that lasts past `QUIET_WAIT` is handed to `say` with the database and how long it may last
    still, not left as a silent pause of up to `lock_timeout`: the engine's first such wait (a crawl writes each
    source in a transaction of its own, and would say it for each), the later ones logged at INFO."""
    waits = int(lock_timeout * 1000)
    quiet = min(waits, int(QUIET_WAIT * 1000))
    said = False

    def begin(conn: Connection) -> None:
        nonlocal said
        if not conn.get_execution_options().get(WRITES):
            conn.exec_driver_sql("BEGIN")
            return
        if quiet >= waits:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        raw: Any = conn.connection.dbapi_connection
        raw.execute(f"PRAGMA busy_timeout={quiet}")
        try:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except Exception as exc:  # raised again below through SQLAlchemy, as any other begin's error is
                if lock_not_available(exc):
                    message = (f"{database}: another writer holds its write lock; waiting up to "
                               f"{(waits - quiet) / 1000:g} s more for it to finish (lock_timeout)")
                    if said or say is None:
                        _log.info("%s", message)
                    else:
                        said = True
                        say(message)
            raw.execute(f"PRAGMA busy_timeout={waits - quiet}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            raw.execute(f"PRAGMA busy_timeout={waits}")

    return begin


def _read_only_uri(path: Path) -> str:
    # Read-only: a WAL journal cannot be created beside the file, so without one the file is read as it stands.
    wal = path.with_name(path.name + "-wal")
    immutable = "&immutable=1" if not wal.exists() or wal.stat().st_size == 0 else ""
    return f"file:{path.resolve()}?mode=ro{immutable}"


def make_engine(url: str, lock_timeout: float = LOCK_TIMEOUT, only_look: bool = False,
                say_waiting: Callable[[str], None] | None = _log.warning) -> Engine:
    """The engine for a configured database; `only_look`: an existing SQLite file is opened read-only, so that
    not even its journal mode (in its header) is changed (`doctor`, `check`). `lock_timeout`: how long SQLite
    waits for another writer's lock (0: a write transaction fails at once, `lock_not_available`). `say_waiting`:
    what says that a write transaction waits for another writer past `QUIET_WAIT` (None: logged at INFO only)."""
    from sqlalchemy import create_engine, event

    shown = redact_url(url)
    try:
        path = sqlite_file(url)
    except DatabaseError:
        raise
    except Exception as exc:  # a dialect SQLAlchemy does not know (`postgres+foo://`)
        raise DatabaseError(f"--db {shown}: {_unknown_dialect(exc)}") from None
    read_only = False
    connect_args: dict[str, Any] = {}
    if path is not None:
        parent = path.resolve().parent
        if not parent.is_dir():
            raise DatabaseError(f"--db {shown}: directory {parent} does not exist")
        if path.is_dir():
            raise DatabaseError(f"--db {path}: is a folder, not a database file (an SQLite file such as "
                                f"{path / 'policywatch.db'}, or a database URL)")
        read_only = _read_only(path)
        connect_args["timeout"] = lock_timeout
        if read_only:
            url = f"sqlite:///{_read_only_uri(path)}&uri=true"
        elif only_look and path.exists():
            # Not immutable: a command may be writing meanwhile, and its WAL journal is read as SQLite reads it.
            read_only = True
            url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    try:
        engine = create_engine(url, future=True, connect_args=connect_args, json_deserializer=stored_json)
    except Exception as exc:  # a missing driver surfaces here
        raise DatabaseError(f"--db {shown}: {_unknown_dialect(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_setup(lock_timeout, read_only))
        event.listen(engine, "begin", _sqlite_begin(lock_timeout, database_name(url) if path is None else str(path),
                                                    say_waiting))
    return engine


def _unknown_dialect(exc: Exception) -> str:
    """What a URL SQLAlchemy cannot use lacks, without echoing the URL (the error may quote it, password and all)."""
    detail = redact_url(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return f"{detail}; PostgreSQL is written {_PSYCOPG}USER@HOST:PORT/DATABASE, SQLite as a file path"


# The URL forms `plain_connection` opens itself; any other goes through SQLAlchemy, which knows them all.
_PLAIN_SQLITE = re.compile(r"sqlite:///(?P<database>[^?%~]+)")
_PLAIN_POSTGRES = re.compile(r"postgresql\+psycopg://(?P<rest>[^?]+)")


def plain_sqlite_database(url: str) -> str | None:
    """The file an SQLite URL of the plain form ``sqlite:///PATH`` names, as SQLAlchemy reads it; None for
    any other URL (another database, an in-memory one, query parameters, a ``file:`` URI)."""
    match = _PLAIN_SQLITE.fullmatch(url)
    if match is None or match["database"] == ":memory:" or match["database"].startswith("file:"):
        return None
    return match["database"]


@dataclass
class PlainConnection:
    """A DB-API connection (`sqlite3`, `psycopg`, or the driver under an SQLAlchemy engine) and its dialect."""

    connection: Any
    dialect: str  # "sqlite" or "postgresql"
    paramstyle: str  # "qmark" or "format"


def plain_connection(url: str, lock_timeout: float = LOCK_TIMEOUT) -> PlainConnection | None:
    """A connection to an existing database whose schema is at the newest revision, opened as `make_engine`
    opens it but without SQLAlchemy; None whenever anything is out of the ordinary (another form of URL, a
    missing file or driver, an error, an older schema): SQLAlchemy's path then deals with it and says what it
    did, exactly as for any other command."""
    database = plain_sqlite_database(url)
    plain: PlainConnection | None = None
    try:
        if database is not None:
            plain = _plain_sqlite(Path(database), lock_timeout)
        elif (match := _PLAIN_POSTGRES.fullmatch(url)) is not None:
            import psycopg

            plain = PlainConnection(psycopg.connect(f"postgresql://{match['rest']}"), "postgresql", "format")
        if plain is None or not _at_newest_revision(plain):
            raise LookupError
    except Exception:
        if plain is not None:
            plain.connection.close()
        return None
    return plain


def _plain_sqlite(path: Path, lock_timeout: float) -> PlainConnection | None:
    import sqlite3

    if not path.exists() or not path.resolve().parent.is_dir():
        return None
    read_only = _read_only(path)
    if read_only:
        connection = sqlite3.connect(_read_only_uri(path), timeout=lock_timeout, uri=True)
    else:
        connection = sqlite3.connect(os.path.abspath(path), timeout=lock_timeout)
    try:
        _sqlite_prepare(connection, lock_timeout, read_only)
    except BaseException:
        connection.close()
        raise
    return PlainConnection(connection, "sqlite", "qmark")


def _at_newest_revision(plain: PlainConnection) -> bool:
    cursor = plain.connection.cursor()
    try:
        cursor.execute("SELECT version_num FROM alembic_version")
        rows = cursor.fetchall()
    finally:
        cursor.close()
        plain.connection.rollback()  # whatever a reader does next begins its own transaction
    return len(rows) == 1 and rows[0][0] == _head_named_in_files()


def is_read_only(engine: Engine) -> bool:
    """An SQLite file this process may only read (see `make_engine`)."""
    return engine.dialect.name == "sqlite" and engine.url.query.get("mode") == "ro"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {rev.revision for rev in scripts.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])\s*$""", re.MULTILINE)


def _head_named_in_files() -> str | None:
    """The newest revision as the migration files name it (``revision = "…"``, ``down_revision = "…"``),
    without importing them; None when they do not name exactly one."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (ALEMBIC_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped_revision(engine: Engine) -> str | None:
    """The one revision the database says it is at, or None (no schema yet, or not one plain row)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def engine_name(engine: Engine) -> str:
    """`database_name` of the database an engine opens; an SQLite file by the path it was given (a read-only
    engine opens it through a ``file:`` URI, which SQLAlchemy renders escaped)."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        database = str(engine.url.database)
        return database[len("file:"):].split("?", 1)[0] if database.startswith("file:") else database
    return database_name(engine.url.render_as_string(hide_password=True))


def _check_known(current: str | None, head: str, database: str) -> None:
    if current is not None and current not in _known_revisions():
        raise NewerSchemaError(newer_schema_message(database, current, head))


# How many of a foreign database's tables a message names.
FOREIGN_TABLES_SHOWN = 3


def foreign_tables(conn: Connection) -> list[str]:
    """The tables of a database that has no policywatch schema (no ``alembic_version``) but other tables: not
    empty, so not policywatch's to create its schema in. Empty for a policywatch record or an empty database."""
    from sqlalchemy import inspect

    names = sorted(inspect(conn).get_table_names())
    return [] if "alembic_version" in names else names


def foreign_database_message(database: str, tables: list[str]) -> str:
    shown = ", ".join(tables[:FOREIGN_TABLES_SHOWN]) + (", …" if len(tables) > FOREIGN_TABLES_SHOWN else "")
    return (f"the database {database} is not a policywatch record: it holds {len(tables)} other table(s) ({shown}) "
            f"and no policywatch schema; point --db at a policywatch database or a new file (it was left as it is)")


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands, read without changing anything (`doctor`, `check`)."""

    revision: str | None  # None: no policywatch schema
    head: str  # this policywatch's newest revision
    foreign: list[str]  # the tables of a database that is not a policywatch record (`foreign_tables`)

    @property
    def current(self) -> bool:
        return self.revision == self.head

    def pending(self) -> str:
        """What the next command that may write the schema does to it, for a message."""
        if self.revision is None:
            return f"schema none: the next command other than doctor or check creates it ({self.head})"
        return f"schema {self.revision}: the next command other than doctor or check brings it to {self.head}"


def schema_state(engine: Engine) -> SchemaState:
    """The schema's revision and whether the database is another program's; a `NewerSchemaError` for one a newer
    policywatch wrote. Reads only."""
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        foreign = foreign_tables(conn) if revision is None else []
    _check_known(revision, head, engine_name(engine))
    return SchemaState(revision, head, foreign)


def newer_schema_message(database: str, revision: str, head: str) -> str:
    return (f"the database {database} was written by a newer policywatch (schema revision {revision!r}; this one "
            f"knows up to {head}): upgrade policywatch to use it; it was left as it is")


def upgrade(engine: Engine, say: Callable[[str], None] | None = None) -> bool:
    """Bring the schema to the newest revision; True when anything was done.

    Several commands may start at once against a new database: the upgrade
    runs under the database's write lock (SQLite) or an advisory lock
    (PostgreSQL), and whoever gets it second finds the work done.
    """
    stamped = _stamped_revision(engine)
    newest = _head_named_in_files()
    if stamped is not None and stamped == newest:
        return False
    if stamped is None and newest is not None and engine.dialect.name == "sqlite" and not is_read_only(engine):
        created = _create_new(engine, newest, say)
        if created is not None:
            return created
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    state = schema_state(engine)
    if state.current:
        return False
    head, current, database = state.head, state.revision, engine_name(engine)
    if state.foreign:
        raise ForeignDatabaseError(foreign_database_message(database, state.foreign))
    if is_read_only(engine):
        raise DatabaseError(f"the database {database} is read-only and its schema is at revision "
                            f"{current!r}, older than this policywatch's {head!r}: open it once with write access")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if current is None and engine.dialect.name == "sqlite":
        _journal(engine)
    with engine.connect().execution_options(**{WRITES: True}) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return False
        _check_known(current, head, database)
        if current is None and (tables := foreign_tables(conn)):  # made meanwhile by another program
            raise ForeignDatabaseError(foreign_database_message(database, tables))
        if say is not None:
            say(f"creating database schema ({head})" if current is None else
                f"upgrading database schema {current} → {head}")
        # Here with no revision only when tables are there (Alembic's own, emptied by a downgrade to base) or
        # the migration files name no one newest revision: the migrations build what they find missing.
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def _create_new(engine: Engine, head: str, say: Callable[[str], None] | None) -> bool | None:
    """The newest schema in an SQLite file without tables, without importing Alembic (0.2 s of CPU); None for one
    with tables, left to the whole upgrade, which tells another program's tables from an older schema.

    SQLite only: on PostgreSQL, creating the models' tables adds the foreign key of a cycle (an article's fetch
    and its version) by ALTER TABLE, and SQLAlchemy then marks it never to be written inline again, so another
    SQLite file created later in the same process would lack it. PostgreSQL runs the migrations."""
    from sqlalchemy import inspect

    with engine.connect() as conn:
        if inspect(conn).get_table_names():
            return None
    _journal(engine)
    with engine.connect().execution_options(**{WRITES: True}) as conn, conn.begin():
        if inspect(conn).get_table_names():
            return None  # made meanwhile, by another command or program
        if say is not None:
            say(f"creating database schema ({head})")
        _create_schema(conn, head)
    return True


def _create_schema(conn: Connection, head: str) -> None:
    """A new SQLite file's schema, created at once from the models with the rows the migrations write into an
    empty database, and stamped at the newest revision: Alembic's cookbook's way to build an up-to-date database
    from scratch. Running the migrations one by one took about 0.4 s of CPU, most of it rebuilding empty tables
    to alter them. `tests/test_storage.py` holds both ways to the same tables, columns, keys, indexes,
    constraints and rows (Alembic's own table too)."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, insert

    from storage.claims_models import META_ID, ClaimMetaRow
    from storage.models import Base

    Base.metadata.create_all(conn)
    conn.execute(insert(ClaimMetaRow).values(id=META_ID))  # migration 0006's row
    # Alembic's version table as Alembic creates it (alembic.ddl.impl.DefaultImpl.version_table_impl).
    version = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    version.create(conn)
    conn.execute(insert(version).values(version_num=head))


def _journal(engine: Engine) -> None:
    # A new record is written through the WAL journal (`_may_journal`); the switch happens outside any transaction.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
    finally:
        raw.close()


def core(session: Session) -> Connection:
    """The session's connection, for a statement built once and run on every fetch: run there, a statement skips
    the ORM's own work around it (about as much again as running it, on SQLite). Flushed first, as
    `Session.execute` would, so it sees what the session holds."""
    session.flush()
    return session.connection()


def insert_new(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert a content-addressed row unless one with its key is there already; whether this call inserted it.

    Two writers recording different sources may store the same bytes at once: the second one's insert
    waits for the first and then does nothing, instead of failing its whole transaction.
    """
    dialect = session.get_bind().dialect.name
    statement = _INSERTS_NEW.get((dialect, model))
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            session.add(model(**values))
            session.flush()
            return True
        # Built once per table (every fetch stores a page): the values come as parameters.
        statement = _INSERTS_NEW[(dialect, model)] = dialect_insert(model).on_conflict_do_nothing()
    result = core(session).execute(statement, values)
    return bool(result.rowcount)


_INSERTS_NEW: dict[tuple[str, type[Any]], Any] = {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that writes: committed as a whole, or rolled back as a whole.

    On SQLite it holds the write lock from its first statement, so two
    writers never interleave and neither fails half-way for the other's sake.
    """
    session = factory()
    try:
        session.connection(execution_options={WRITES: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose reads all see one consistent state of the record, whatever is written meanwhile.

    SQLite: one read transaction (a WAL snapshot). PostgreSQL: REPEATABLE
    READ, READ ONLY. Nothing is ever committed from it.
    """
    session = factory()
    try:
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
        else:
            session.connection()
        yield session
    finally:
        session.rollback()
        session.close()
