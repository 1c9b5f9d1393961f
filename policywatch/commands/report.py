"""`policywatch report` and `serve`: the static report and local browsing."""

from __future__ import annotations

import argparse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from policywatch.commands.context import Context, ExitStatus, UserError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.site import BuildStats


def base_url(value: str | None) -> str | None:
    if value is None:
        return None
    from reports.urls import normalise_base_url

    try:
        return normalise_base_url(value)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def print_build(ctx: Context, stats: BuildStats, out: Path) -> None:
    index = stats.index_path.resolve()
    if ctx.quiet:  # only what went wrong, as `run -q` says it
        for problem in stats.problems:
            ctx.warn(problem)
        return
    ctx.say(f"wrote {stats.pages_written} file(s), {stats.pages_skipped} unchanged, in {stats.seconds:.2f} s")
    for problem in stats.problems:
        ctx.warn(problem)
    ctx.say(f"report: {index}")
    for note in stats.notes:
        ctx.say(f"  {note}")
    ctx.say(f"  open {index.as_uri()} in a browser, or run `policywatch serve --out {out}`")
    if not stats.base_url_given:
        ctx.say(f"  feeds link to {stats.base_url} because --base-url was not given; "
                f"pass --base-url https://… when you publish the site")


def build_report(ctx: Context, out: Path, base: str | None = None, full: bool = False) -> BuildStats:
    from reports.site import build_site

    return build_site(ctx.factory(must_exist=True), out, base, full=full,
                      failing_after=ctx.settings.failing_after_runs, signing_key=ctx.settings.ledger_signing_key)


def report(ctx: Context, args: argparse.Namespace) -> int:
    out = Path(args.out)
    print_build(ctx, build_report(ctx, out, base_url(args.base_url), args.full), out)
    return ExitStatus.OK


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
        # Versions' Markdown, UTF-8 as stored (a raw snapshot is always `.txt`).
        ".md": "text/markdown; charset=utf-8",
    }

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.path.split("?", 1)[0].startswith("/raw/"):
            self.send_header("Content-Disposition", "attachment")
        super().end_headers()


def serve(ctx: Context, args: argparse.Namespace) -> int:
    root = Path(args.out)
    if not (root / "index.html").is_file():
        raise UserError(f"no report in {root}: run `policywatch report --out {root}` first")
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), partial(_SiteHandler, directory=str(root)))
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}; "
                        f"choose another port with --port") from None
    port = server.server_address[1]
    ctx.say(f"serving {root.resolve()} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return ExitStatus.OK
