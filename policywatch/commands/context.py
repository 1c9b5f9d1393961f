"""What every command shares: the context it runs in, user errors and exit statuses."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TextIO

from analysis.errors import UserInputError
from policywatch.config import Settings
from policywatch.terminal import json_text, safe
from storage.db import PlainConnection, plain_connection, plain_sqlite_database
from storage.times import parse_time

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from ingest.claims import ClaimsPlan
    from ingest.declarations import Source
    from ingest.judge import GuardPolicy
    from ingest.news.declarations import NewsConfig
    from storage.reader import Record


class ExitStatus(IntEnum):
    """What cron and systemd see."""

    OK = 0  # everything was fetched (or the command did what it was asked)
    FAILURES = 1  # some sources failed, or `check` found problems
    USAGE = 2  # a configuration or usage error, or nothing could be fetched
    LOCKED = 3  # another `policywatch run` holds the lock
    CRASH = 4  # an internal error: a crash, not a failed fetch


def outcome_status(checked: int, failed: int) -> ExitStatus:
    """The exit status of a command that fetched, imported or re-derived `checked` sources of which `failed` failed."""
    if failed == checked:
        return ExitStatus.USAGE
    return ExitStatus.FAILURES if failed else ExitStatus.OK


class UserError(UserInputError):
    """A problem the user can fix; printed as one line without a traceback, exit status 2."""


def _output_name(stream: TextIO) -> str:
    """What the output goes to, for a message: the file or device standard output is (Linux names it), or the
    stream's own name."""
    try:
        return os.readlink(f"/proc/self/fd/{stream.fileno()}")
    except (OSError, ValueError, AttributeError):
        return str(getattr(stream, "name", "the output"))


@contextmanager
def writing(stream: TextIO) -> Iterator[None]:
    """Writes to `stream` whose failure (a full disk, an I/O error) is one line naming where the output went; a
    reader that went away (`| head`) is left to the caller, which stops quietly as Unix tools do."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise UserError(f"cannot write the output to {_output_name(stream)}: {exc.strerror or exc}") from None


def write_file(path: Path, data: bytes, option: str = "--out") -> None:
    """`data` written to the file the user named, any failure one line naming it."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        why = exc.strerror or str(exc)
        if not path.parent.is_dir():
            why = f"the folder {path.parent} does not exist"
        raise UserError(f"{option} {path}: cannot write it: {why}") from None


def time_argument(value: str) -> datetime:
    """An ISO-8601 time on the command line; UTC when it names no zone."""
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO-8601 time such as 2026-01-31T12:00:00Z") from None


def now_argument(value: str) -> datetime:
    """`--now`: a time to record something as made at, which cannot be in the future (a typo in the year would
    date records there, and every later import would have to come after them)."""
    from ingest.importer import CLOCK_SKEW  # commands import the layers below only when they use them

    when = time_argument(value)
    if when > datetime.now(timezone.utc) + CLOCK_SKEW:
        raise argparse.ArgumentTypeError(f"{value!r} is in the future")
    return when


@dataclass
class Context:
    """The configuration a command runs with, and the record it reads and writes."""

    settings: Settings
    quiet: bool = False
    verbose: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _engine: Engine | None = None
    _inspected: Engine | None = None

    def say(self, message: str) -> None:
        """A line for the user, with anything taken from the web made safe for the terminal."""
        with writing(self.out):
            print(safe(message), file=self.out, flush=True)

    def write(self, text: str) -> None:
        """Text as it is: the caller has made what came from the web safe (`policywatch.terminal.safe`)."""
        with writing(self.out):
            self.out.write(text)
            self.out.flush()

    def write_bytes(self, data: bytes) -> None:
        with writing(self.out):
            self.out.buffer.write(data)  # type: ignore[attr-defined]
            self.out.flush()

    def warn(self, message: str) -> None:
        print(f"policywatch: {safe(message)}", file=sys.stderr, flush=True)

    def print_json(self, data: Any) -> None:
        with writing(self.out):
            print(json_text(data), file=self.out, flush=True)

    def guard_policy(self) -> GuardPolicy:
        from ingest.judge import GuardPolicy

        return GuardPolicy(self.settings.too_short_fraction, self.settings.failing_after_runs)

    def sources(self) -> dict[str, Source]:
        from ingest.declarations import load_sources  # not every command reads the declarations

        return load_sources(self.settings.sources)

    def news(self) -> NewsConfig:
        from ingest.news.declarations import load_news

        return load_news(self.settings.news)

    def claims_plan(self, sources: dict[str, Source] | None = None) -> ClaimsPlan:
        """The claims every recording command evaluates, against the declared sources."""
        from ingest.claims import ClaimsPlan

        return ClaimsPlan(self.settings.claims, sources if sources is not None else self.sources(),
                          self.settings.claim_time_limit)

    def missing_database(self) -> str | None:
        """The SQLite file the configuration names, when it does not exist yet or is empty."""
        url = self.settings.db_url
        if not url.startswith("sqlite"):
            return None
        database = plain_sqlite_database(url)
        if database is None:
            from storage.db import parse_url

            parsed = parse_url(url)
            if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
                return None
            database = parsed.database
        # An empty file (a truncated copy, a `touch`) is no record either: reading it must not give it a schema.
        return None if Path(database).exists() and Path(database).stat().st_size > 0 else database

    def must_exist(self) -> None:
        """Refuses a missing or empty SQLite file: a reading command has no record to read there."""
        missing = self.missing_database()
        if missing is not None:
            what = f"{missing} is empty (0 bytes), not a record" if Path(missing).exists() else f"no database at {missing}"
            raise UserError(f"{what}: run `policywatch crawl` or `policywatch import` first, or point --db at one")

    def engine(self, must_exist: bool = False) -> Engine:
        """The database, its schema brought up to date (the user is told when it is, unless quiet); a database
        that holds another program's tables is refused, never given policywatch's schema."""
        from storage.db import make_engine, upgrade

        if must_exist:
            self.must_exist()
        if self._engine is None:
            self._engine = make_engine(self.settings.db_url, self.settings.lock_timeout,
                                       say_waiting=None if self.quiet else self.warn)
            upgrade(self._engine, say=None if self.quiet else self.warn)
        return self._engine

    def inspected_engine(self, must_exist: bool = False) -> Engine:
        """The database as it is, opened only to look: its schema neither created nor upgraded, an SQLite file
        opened read-only (`doctor`, `check`)."""
        from storage.db import make_engine

        if must_exist:
            self.must_exist()
        if self._inspected is None:
            self._inspected = make_engine(self.settings.db_url, self.settings.lock_timeout, only_look=True)
        return self._inspected

    def factory(self, must_exist: bool = False) -> sessionmaker[Session]:
        from storage.db import session_factory

        return session_factory(self.engine(must_exist))

    @contextmanager
    def record(self) -> Iterator[Record]:
        """The existing record, read with plain SQL (`storage.reader`): what `reading(factory(must_exist=True))`
        gives the commands that use SQLAlchemy, with the same checks and messages. An up-to-date SQLite file or
        `postgresql+psycopg` database is opened without SQLAlchemy; anything else (a schema to upgrade, another
        form of URL, a database that fails to open) goes through `engine`, which says what it does or what is
        wrong exactly as it does for every command."""
        from storage.reader import reading

        self.must_exist()
        plain = plain_connection(self.settings.db_url, self.settings.lock_timeout) if self._engine is None else None
        if plain is None:
            engine = self.engine(must_exist=True)
            plain = PlainConnection(engine.raw_connection(), engine.dialect.name,
                                    "qmark" if engine.dialect.paramstyle == "qmark" else "format")
        with reading(plain) as record:
            yield record

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._inspected is not None:
            self._inspected.dispose()
            self._inspected = None


AddCommand = Callable[[str, str, str], argparse.ArgumentParser]
"""`add(name, "module:function", help)`: declares a command (policywatch.commands.table)."""
