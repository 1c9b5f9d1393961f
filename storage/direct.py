"""A write transaction on SQLite's own connection, for the statements a fetch found unchanged runs.

Most fetches of most nights find the page's content key the one of the
source's latest accepted fetch, and record only that: the outcome, the page
kept against its keyframe, the version confirmed (`storage.record
.record_confirmation`), some ten small statements in one transaction.
Recording such a fetch of the real 1.1 MB privacy policy took 6.4–6.6 ms
through SQLAlchemy's Session and Connection and takes 4.3–4.8 ms here
(`bench/record_speed.py`; README, "Measured"), most of it keeping the page
(SHA-256, zstd) either way: SQLAlchemy's work around a statement is some
25 µs in a loop, but several times that between pages, whose parsing and
compression leave the processor's caches cold.

The statements stay SQLAlchemy's, compiled once for the engine's dialect;
values are bound and read back through their columns' own types
(`bind_processor`, `result_processor`), so what is stored and read is what the
ORM stores and reads. A `DirectSession` offers only what `storage.record`'s
functions use of a Session on that path (`core`, `flush`, `get_bind`): any
other use of one, a statement this cannot run as compiled (values computed at
execution, parameters expanded at execution) and any error of SQLite's raise
`NeedsSession`; the transaction is then rolled back, having written nothing,
and the caller records through a Session instead.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from storage.db import lock_not_available


class NeedsSession(Exception):
    """What was asked needs SQLAlchemy's Session (or SQLite refused it): nothing was written."""


class LockNotGranted(NeedsSession):
    """Another writer holds SQLite's write lock: a Session would wait for it as long again."""


class _Compiled:
    """A statement compiled for a dialect: its SQL, how to bind each parameter, and how to read each column."""

    def __init__(self, statement: Any, dialect: Any, names: frozenset[str]):
        dml = isinstance(statement, UpdateBase)
        compiled = statement.compile(dialect=dialect, column_keys=sorted(names) if dml else None)
        self.sql = str(compiled)
        # Values worked out at execution (Python-side column defaults) or parameters expanded into the SQL then.
        if compiled.insert_prefetch or compiled.update_prefetch or "POSTCOMPILE" in self.sql:
            raise NeedsSession(f"the statement needs SQLAlchemy's execution: {self.sql[:80]}")
        self.compiled = compiled
        self.order = tuple(compiled.positiontup or ())
        self.binders = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                             for name in self.order)
        self.row: Any = None
        self.readers: tuple[Any, ...] = ()
        if not dml:
            # A mapped class selected whole is read back as its object, which only a Session builds.
            if any(isinstance(described.get("type"), type) for described in getattr(statement, "column_descriptions", ())):
                raise NeedsSession(f"the statement selects ORM objects: {self.sql[:80]}")
            columns = list(statement.selected_columns)
            keys = [column.key for column in columns]
            self.row = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
            if list(self.row._fields) != keys:  # a name that cannot be an attribute, or one used twice
                raise NeedsSession(f"the statement's columns {keys} cannot be read as a row's attributes")
            self.readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                                 for column in columns)

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        # The names unescaped, as `positiontup` has them (SQLAlchemy's own execution asks for them so too).
        values = self.compiled.construct_params(dict(given), escape_names=False)
        return tuple(bind(values[name]) if bind is not None else values[name]
                     for name, bind in zip(self.order, self.binders))

    def rows(self, fetched: Sequence[tuple[Any, ...]]) -> list[Any]:
        readers, row = self.readers, self.row
        if not any(readers):
            return [row._make(values) for values in fetched]
        return [row._make([read(value) if read is not None else value for read, value in zip(readers, values)])
                for values in fetched]


# By statement (the modules' own, built once, compared by identity), dialect and parameter names.
@functools.lru_cache(maxsize=512)
def _compiled(statement: Any, dialect: Any, names: frozenset[str]) -> _Compiled:
    return _Compiled(statement, dialect, names)


class DirectResult:
    """What `Connection.execute` returns, as far as the record's hot path reads it."""

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None):
        self._rows, self.rowcount, self._lastrowid = rows, rowcount, lastrowid

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    @property
    def inserted_primary_key(self) -> tuple[int | None]:
        return (self._lastrowid,)

    def __getattr__(self, name: str) -> Any:
        raise NeedsSession(f"Result.{name}")


class DirectSession:
    """The parts of a Session that `storage.record`'s confirmation path uses, on one SQLite connection inside
    one write transaction (`direct_transaction`). It is its own connection (`storage.db.core`)."""

    def __init__(self, engine: Engine, cursor: sqlite3.Cursor):
        self._engine, self._cursor = engine, cursor

    def flush(self) -> None:
        """Nothing is held to flush: every statement ran when it was given."""

    def get_bind(self) -> Engine:
        return self._engine

    def connection(self) -> "DirectSession":
        return self

    def execute(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> DirectResult:
        given = parameters or {}
        compiled = _compiled(statement, self._engine.dialect, frozenset(given))
        cursor = self._cursor
        fetched = _run(cursor, compiled.sql, compiled.parameters(given), rows=compiled.row is not None)
        return DirectResult(compiled.rows(fetched) if fetched else [], cursor.rowcount, cursor.lastrowid)

    def __getattr__(self, name: str) -> Any:
        raise NeedsSession(f"Session.{name}")


def _run(cursor: sqlite3.Cursor, sql: str, parameters: Sequence[Any] = (), rows: bool = False) -> list[Any]:
    """The statement run (and its rows read, with `rows`); SQLite's errors as `NeedsSession`."""
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchall() if rows else []
    except sqlite3.Error as exc:
        raise _refused(exc) from exc


def _refused(exc: BaseException) -> NeedsSession:
    if lock_not_available(exc):
        return LockNotGranted(f"SQLite: {exc}")
    return NeedsSession(f"SQLite: {exc}")


@contextmanager
def direct_transaction(factory: sessionmaker[Any]) -> Iterator[DirectSession]:
    """A write transaction (`BEGIN IMMEDIATE`, as `storage.db.transaction` begins one on SQLite) on a connection of
    `factory`'s engine, committed as a whole or rolled back as a whole. `NeedsSession` for an engine that is not
    SQLite's and for any error of SQLite's; `LockNotGranted` for a write lock not granted within the engine's lock
    timeout."""
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        raise NeedsSession("a direct transaction is SQLite's")
    try:
        # A new connection is set up here (`storage.db`'s connect event), which may meet a lock or a damaged file.
        raw = engine.raw_connection()
    except (sqlite3.Error, DBAPIError) as exc:
        raise _refused(exc) from exc
    try:
        connection = raw.driver_connection
        if not isinstance(connection, sqlite3.Connection):
            raise NeedsSession(f"a direct transaction needs the sqlite3 module's connection, not {type(connection)}")
        cursor = connection.cursor()
        try:
            # The statements in between turn SQLite's errors into `NeedsSession` themselves (`DirectSession.execute`).
            _run(cursor, "BEGIN IMMEDIATE")
            yield DirectSession(engine, cursor)
            _run(cursor, "COMMIT")
        finally:
            if connection.in_transaction:
                connection.rollback()
            cursor.close()
    finally:
        raw.close()
