"""The `policywatch` command: parses the command line and runs one command in its context.

This is the one place that turns what a command returns or raises into an
exit status (see `ExitStatus`): user errors are one line and status 2, a
crash is a traceback and status 4.

The command line is built from `policywatch.commands.table`; a command's
module is imported only when it runs, so each command loads only what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Sequence

from analysis.errors import UserInputError
from policywatch.allocator import keep_freed_memory
from policywatch.collector import collect_less_often
from policywatch.commands.context import Context, ExitStatus, writing
from policywatch.commands.table import COMMANDS
from policywatch.config import load_settings
from policywatch.terminal import safe
from storage.db import (DatabaseError, StoredValueError, damaged, database_name, database_problem,
                        is_database_problem)

# The errors of the database drivers, by the module that defines them: only a driver already imported can have
# raised one, so none is imported to find out.
_DRIVER_ERRORS = (("sqlalchemy.exc", "DBAPIError"), ("sqlite3", "Error"), ("psycopg", "Error"), ("psycopg2", "Error"))
# A stored text or page that no longer reads back as its sha256 says: damage the user can locate with `check`.
_INTEGRITY_ERRORS = (("storage.textcodec", "TextIntegrityError"), ("storage.blobs", "BlobIntegrityError"))


class Command:
    """A command's function, imported from its module when the command runs."""

    def __init__(self, target: str) -> None:
        self.module, _, self.function = target.partition(":")

    def __call__(self, ctx: Context, args: argparse.Namespace) -> int:
        module = importlib.import_module(f"policywatch.commands.{self.module}")
        return int(getattr(module, self.function)(ctx, args))


def _global_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument("--db", default=default, help="database: an SQLAlchemy URL or an SQLite file path "
                        "(default: $POLICYWATCH_DB or ./policywatch.db)")
    parser.add_argument("--sources", default=default,
                        help="declarations file or directory (default: the bundled sources/)")
    parser.add_argument("--news", default=default,
                        help="news declarations file or directory (default: the bundled news/)")
    parser.add_argument("--claims", default=default,
                        help="claims file or directory (default: the bundled claims/)")
    parser.add_argument("--config", default=default,
                        help="settings file (TOML; default: ./policywatch.toml when present)")
    parser.add_argument("-q", "--quiet", action="store_true", default=default or False,
                        help="print only failures (cron mails only what goes wrong)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False,
                        help="show the crawler's log")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policywatch", description=(
        "Keep a verifiable, diffable record of what vendors say about user data."))
    _global_options(parser)
    # The same options are accepted after the command too (`policywatch changes --db x.db`).
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, target: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[after])
        p.set_defaults(func=Command(target))
        return p

    for register in COMMANDS:
        register(add)
    return parser


def _context(args: argparse.Namespace) -> Context:
    settings = load_settings({"db": args.db, "sources": args.sources, "news": args.news, "claims": args.claims},
                             config_file=Path(args.config) if args.config else None)
    return Context(settings, quiet=args.quiet, verbose=args.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()
    collect_less_often()
    args = build_parser().parse_args(argv)
    ctx: Context | None = None
    try:
        ctx = _context(args)
        status = int(args.func(ctx, args))
        with writing(sys.stdout):  # what is still buffered fails here, not at exit where nobody says it
            sys.stdout.flush()
        return status
    except UserInputError as exc:  # every layer's errors that a user can fix
        message = str(exc)
        if isinstance(exc, DatabaseError) and ctx is not None:
            message = _naming(message, database_name(ctx.settings.db_url))
        for line in message.split("\n"):  # several problems (a manifest's bad lines) are one line each
            print(f"policywatch: {safe(line)}", file=sys.stderr)
        return ExitStatus.USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do, and let nothing flush into the closed
        # pipe at exit.
        _discard_stdout()
        return ExitStatus.OK
    except Exception as exc:
        integrity = _raised_by(exc, _INTEGRITY_ERRORS)
        if not integrity and not _from_the_database(exc):
            return _crash()
        name = database_name(ctx.settings.db_url) if ctx is not None else None
        if integrity:
            print(f"policywatch: {damaged(safe(str(exc)), name)}", file=sys.stderr)
            return ExitStatus.USAGE
        # Locked, full, damaged or read-only: the database's state, which the user can act on.
        timeout = ctx.settings.lock_timeout if ctx is not None else 0.0
        print(f"policywatch: {safe(database_problem(exc, timeout, name))}", file=sys.stderr)
        return ExitStatus.USAGE
    finally:
        if ctx is not None:
            ctx.close()


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's capture): nothing is flushed at exit anyway
        pass


def _naming(message: str, name: str) -> str:
    """A database error's message, naming the database when the layer that raised it did not know which."""
    return message if name in message or message.startswith("--db ") else f"{name}: {message}"


def _raised_by(exc: BaseException, errors: tuple[tuple[str, str], ...]) -> bool:
    """Whether `exc` is one of `errors` (module, class name): only a module already imported can have raised one."""
    for module, name in errors:
        found = sys.modules.get(module)
        if found is not None and isinstance(exc, getattr(found, name)):
            return True
    return False


def _from_the_database(exc: BaseException) -> bool:
    """An error that is the database's state (locked, full, damaged, read-only), not a fault in policywatch: the
    driver's own errors of that kind, and a stored value that no longer reads back (damaged text or times),
    which fails inside SQLAlchemy's conversion of the row or `storage.reader`'s."""
    if _raised_by(exc, _DRIVER_ERRORS):
        return is_database_problem(exc)
    if not isinstance(exc, ValueError):
        return False
    if isinstance(exc, StoredValueError):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "sqlalchemy" in frames[-1].filename


def _crash() -> int:
    # Distinct from 1 ("some sources failed"), so cron and systemd see a crash as a crash.
    traceback.print_exc()
    print("policywatch: internal error (traceback above); nothing after the last completed source was recorded",
          file=sys.stderr)
    return ExitStatus.CRASH


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
