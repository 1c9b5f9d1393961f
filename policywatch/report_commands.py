"""`policywatch report`, `serve` and `run`: the static report, local browsing and the nightly job."""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from datetime import datetime, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from policywatch.cli import Context

from policywatch.cliargs import EXIT_FAILURES, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, time_argument

DEFAULT_OUT = "site"
DEFAULT_PORT = 8765

AddCommand = Callable[[str, Callable[["Context"], int], str], argparse.ArgumentParser]


def _command_error(message: str) -> Exception:
    from policywatch.cli import CommandError  # imported late: cli imports this module

    return CommandError(message)


def _say(message: str, stream: TextIO = sys.stdout) -> None:
    from policywatch.terminal import safe

    print(safe(message), file=stream, flush=True)


def _base_url(value: str | None) -> str | None:
    from reports.urls import normalise_base_url

    if value is None:
        return None
    try:
        return normalise_base_url(value)
    except ValueError as exc:
        raise _command_error(str(exc)) from None


# --- report ------------------------------------------------------------------


def _print_build(stats: Any, out: Path) -> None:
    index = stats.index_path.resolve()
    _say(f"wrote {stats.pages_written} file(s), {stats.pages_skipped} unchanged, in {stats.seconds:.2f} s")
    _say(f"report: {index}")
    _say(f"  open {index.as_uri()} in a browser, or run `policywatch serve --out {out}`")
    if not stats.base_url_given:
        _say(f"  feeds link to {stats.base_url} because --base-url was not given; "
             f"pass --base-url https://… when you publish the site")


def cmd_report(ctx: "Context") -> int:
    from reports.site import build_site
    from storage.db import session_factory

    base_url = _base_url(ctx.args.base_url)
    out = Path(ctx.args.out)
    stats = build_site(session_factory(ctx.engine(must_exist=True)), out, base_url, full=ctx.args.full,
                       failing_after=ctx.settings.failing_after_runs)
    _print_build(stats, out)
    return EXIT_OK


# --- serve -------------------------------------------------------------------


class _SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        # Raw snapshots: plain text, never HTML, whatever their bytes say.
        ".txt": "text/plain",
    }

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.path.split("?", 1)[0].startswith("/raw/"):
            self.send_header("Content-Disposition", "attachment")
        super().end_headers()


def cmd_serve(ctx: "Context") -> int:
    root = Path(ctx.args.out)
    if not (root / "index.html").is_file():
        raise _command_error(f"no report in {root}: run `policywatch report --out {root}` first")
    try:
        server = ThreadingHTTPServer(("127.0.0.1", ctx.args.port), partial(_SiteHandler, directory=str(root)))
    except OSError as exc:
        raise _command_error(f"cannot listen on 127.0.0.1:{ctx.args.port}: {exc.strerror}; "
                             f"choose another port with --port") from None
    port = server.server_address[1]
    _say(f"serving {root.resolve()} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


# --- run ---------------------------------------------------------------------


class LockHeld(Exception):
    def __init__(self, path: Path, holder: str):
        super().__init__(f"another policywatch run holds the lock {path} (pid {holder or 'unknown'}); not starting")


class RunLock:
    """An exclusive, non-blocking flock; the kernel releases it when the process ends, however it ends.

    The file is never deleted: removing a lock file another process has open
    would let a third process lock a new file beside it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise LockHeld(self.path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def lock_path(db_url: str, out: Path) -> Path:
    """`<db>.lock` beside an SQLite file; for a database server, in the output directory."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database).expanduser()
        if not database.resolve().parent.is_dir():
            raise _command_error(f"--db {db_url!r}: directory {database.resolve().parent} does not exist")
        return database.with_name(database.name + ".lock")
    out.mkdir(parents=True, exist_ok=True)
    return out / ".policywatch-run.lock"


class RunLog:
    """`--log FILE`: timestamped lines appended to a file (nothing when no file is given)."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None

    def write(self, message: str) -> None:
        if self.path is None:
            return
        from policywatch.terminal import safe

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [{os.getpid()}] {safe(message)}\n")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _crawl_settings(ctx: "Context") -> dict[str, Any]:
    if ctx.args.log:
        return {"LOG_FILE": str(ctx.args.log), "LOG_FILE_APPEND": True, "LOG_LEVEL": "INFO"}
    # Without a log file only errors reach the terminal: cron mails whatever is printed.
    return {"LOG_LEVEL": "ERROR"}


def cmd_run(ctx: "Context") -> int:
    quiet = bool(ctx.args.quiet or ctx.args.run_quiet)
    base_url = _base_url(ctx.args.base_url)
    out = Path(ctx.args.out)
    lock = RunLock(lock_path(ctx.settings.db_url, out))
    try:
        lock.acquire()
    except LockHeld as exc:
        _say(f"policywatch: {exc}", sys.stderr)
        return EXIT_LOCKED
    log = RunLog(ctx.args.log)
    log.write(f"run started (lock {lock.path})")
    try:
        return _run_locked(ctx, quiet, base_url, out, log)
    except Exception as exc:
        log.write(f"run stopped: {type(exc).__name__}: {exc}")
        raise
    finally:
        lock.release()


def _run_locked(ctx: "Context", quiet: bool, base_url: str | None, out: Path, log: RunLog) -> int:
    from crawler.runner import CrawlPlan, run_crawls
    from reports.site import build_site
    from storage.db import session_factory, transaction
    from storage.models import Run

    if not ctx.sources():
        raise _command_error(f"no sources are declared in {ctx.settings.sources}")
    factory = session_factory(ctx.engine())
    run_ids = run_crawls(ctx.settings, [CrawlPlan(now=ctx.args.now)], _crawl_settings(ctx))
    with transaction(factory) as session:
        run = session.get_one(Run, run_ids[0])
        failed = [(o.source_id, o.failure_kind or "", o.detail or "") for o in run.outcomes if o.outcome == "failed"]
        checked, new_versions, changes, failures = run.sources_checked, run.new_versions, run.changes, run.failures
        run_id = run.id
    stats = build_site(factory, out, base_url, failing_after=ctx.settings.failing_after_runs)
    summary = (f"policywatch run {run_id}: {_plural(checked, 'source')} checked, {_plural(new_versions, 'new version')}, "
               f"{_plural(changes, 'change')}, {_plural(failures, 'failure')}; report: {stats.index_path.resolve()}")
    log.write(summary)
    log.write(f"report: {stats.pages_written} file(s) written, {stats.pages_skipped} unchanged, {stats.seconds:.2f} s")
    if not quiet:
        _say(summary)
    for source_id, kind, detail in failed:
        line = f"failed {source_id}: {kind}: {detail}"
        log.write(line)
        _say(line if quiet else f"  {line}")
    if checked == 0 or failures == checked:
        return EXIT_USAGE
    return EXIT_FAILURES if failures else EXIT_OK


# --- registration --------------------------------------------------------------


def register(add: AddCommand) -> None:
    p = add("report", cmd_report, "render the static HTML report and the RSS/Atom feeds")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--base-url", metavar="URL", help="where the site will be published, for feed links "
                   "(default: a file:// URL of the output directory)")
    p.add_argument("--full", action="store_true", help="rebuild every page, not only what changed")

    p = add("serve", cmd_serve, "serve the report on 127.0.0.1 for local browsing")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the report directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)")

    p = add("run", cmd_run, "the nightly job: crawl every source, then render the report and feeds; "
            "exit 0 all fetched, 1 some failed, 2 configuration error or nothing fetched, 3 another run holds the lock")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"report directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--base-url", metavar="URL", help="where the site is published, for feed links")
    p.add_argument("-q", "--quiet", dest="run_quiet", action="store_true",
                   help="print only failures, so cron mails only when something is wrong")
    p.add_argument("--log", metavar="FILE", help="append a timestamped log (and the crawler's log) to FILE")
    p.add_argument("--now", type=time_argument, metavar="TIME", help="record the crawl as made at TIME (replays, tests)")
