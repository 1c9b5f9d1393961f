"""The `policywatch` command: wires configuration, crawler, storage and reports."""

from __future__ import annotations

import argparse
import traceback
from datetime import datetime, timezone
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from analysis.diff import diff_texts
from analysis.evidence import CATEGORIES as FLAG_CATEGORIES
from crawler.declarations import DeclarationError, Source, load_sources, select_sources
from crawler.extraction import ExtractionError
from crawler.importer import ManifestError, import_manifest
from crawler.processing import GuardPolicy
from policywatch import jsonview
from policywatch.config import ConfigError, Settings, load_settings
from policywatch.summary import describe_runs
from policywatch.terminal import render_diff, safe, use_colour
from storage import queries
from storage.db import DatabaseError, make_engine, session_factory, transaction, upgrade

from policywatch.cliargs import EXIT_CRASH, EXIT_FAILURES, EXIT_OK, EXIT_USAGE, time_argument


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def _err(message: str) -> None:
    print(f"policywatch: {safe(message)}", file=sys.stderr)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.settings: Settings = load_settings(
            {"db": args.db, "sources": args.sources},
            config_file=Path(args.config) if args.config else None,
        )

    def sources(self) -> dict[str, Source]:
        return load_sources(self.settings.sources)

    def missing_database(self) -> str | None:
        """The SQLite file the configuration names, when it does not exist yet."""
        parsed = make_url(self.settings.db_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            if not Path(parsed.database).exists():
                return parsed.database
        return None

    def engine(self, must_exist: bool = False) -> Engine:
        url = self.settings.db_url
        missing = self.missing_database() if must_exist else None
        if missing is not None:
            raise CommandError(f"no database at {missing}: run `policywatch crawl` or "
                               f"`policywatch import` first, or point --db at one")
        engine = make_engine(url)
        upgrade(engine, say=lambda m: print(f"policywatch: {m}", file=sys.stderr))
        return engine


# --- commands ----------------------------------------------------------------


def cmd_crawl(ctx: Context) -> int:
    from crawler.runner import CrawlPlan, run_crawls

    select_sources(ctx.sources(), ctx.args.only)
    ctx.engine()  # schema errors surface before the crawl starts
    extra = {"LOG_LEVEL": "INFO" if ctx.args.verbose else "WARNING"}
    run_ids = run_crawls(ctx.settings, [CrawlPlan(only=ctx.args.only or (), now=ctx.args.now)], extra)
    return _report_runs(ctx, run_ids)


def _report_runs(ctx: Context, run_ids: Sequence[int]) -> int:
    with transaction(session_factory(ctx.engine())) as session:
        lines, worst = describe_runs(session, list(run_ids), quiet=ctx.args.quiet)
    for line in lines:
        print(line)
    return worst


def cmd_extract(ctx: Context) -> int:
    from crawler.importer import CONTENT_TYPES
    from crawler.processing import extract_document
    from storage.record import RawPage

    sources = ctx.sources()
    source = select_sources(sources, [ctx.args.source])[0]
    pages = []
    for name in ctx.args.files:
        path = Path(name)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "text/html")
        pages.append(RawPage(path.as_uri() if path.is_absolute() else name, name, None, content_type, body))
    try:
        text = extract_document(source, pages)
    except ExtractionError as exc:
        raise CommandError(f"{exc.kind}: {exc.detail}") from None
    sys.stdout.write(safe(text))
    return EXIT_OK


def cmd_import(ctx: Context) -> int:
    factory = session_factory(ctx.engine())
    report = import_manifest(factory, Path(ctx.args.manifest), ctx.sources(), GuardPolicy.from_settings(ctx.settings))
    counts: dict[str, int] = {}
    for result in report.applied:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        if result.failure:
            print(f"  failed {result.source_id}: {result.failure.kind}: {safe(result.failure.detail)}")
    print(f"imported {len(report.applied)} entr{'y' if len(report.applied) == 1 else 'ies'} "
          f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing new'}), "
          f"{report.skipped} already recorded")
    return EXIT_FAILURES if counts.get("failed") else EXIT_OK


def cmd_sources(ctx: Context) -> int:
    declared = ctx.sources()
    summaries: dict[str, queries.SourceSummary] = {}
    if ctx.missing_database() is None:
        with transaction(session_factory(ctx.engine())) as session:
            summaries = {s.source.id: s for s in queries.source_summaries(session)}
    if ctx.args.json:
        rows = [jsonview.source_json(source, summaries.get(sid), True) for sid, source in declared.items()]
        rows += [jsonview.source_json(s.source, s, False) for sid, s in summaries.items() if sid not in declared]
        _print_json(rows)
        return EXIT_OK
    for sid, source in declared.items():
        summary = summaries.get(sid)
        state = "never checked"
        if summary and summary.last_checked:
            state = f"{summary.versions} version(s), checked {jsonview.when(summary.last_checked)}"
            if summary.last_outcome == "failed":
                state += f", FAILING ({summary.last_failure_kind})"
        print(f"{sid:48} {source.language:3} {safe(source.title)} — {state}")
    return EXIT_OK


def cmd_history(ctx: Context) -> int:
    with transaction(session_factory(ctx.engine(must_exist=True))) as session:
        versions = queries.versions_of(session, ctx.args.id)
        outcomes = queries.outcomes_of(session, ctx.args.id)
        changes = {row.change.to_version_id: row.change for row in queries.changes(session, ctx.args.id)}
        if ctx.args.json:
            _print_json({"source": ctx.args.id,
                         "versions": [jsonview.version_json(v) | {"change": _change_brief(changes.get(v.id))}
                                      for v in versions],
                         "outcomes": [jsonview.outcome_json(o) for o in outcomes]})
            return EXIT_OK
        source = queries.get_source(session, ctx.args.id)
        print(f"{source.id}: {safe(source.vendor)} — {safe(source.title)} ({source.language})")
        for v in versions:
            change = changes.get(v.id)
            what = "first version" if change is None else (
                f"{change.kind}: +{change.words_added} / -{change.words_removed} words"
                + (f"  [{change.severity}] {safe(change.summary)}" if change.flags else ""))
            print(f"  v{v.number}  {jsonview.when(v.first_seen)}  confirmed {jsonview.when(v.last_confirmed)}  "
                  f"{len(v.text.split())} words  {what}")
        failed = [o for o in outcomes if o.outcome == "failed"]
        if failed:
            print(f"  {len(failed)} failed fetch(es), latest {jsonview.when(failed[-1].at)}: "
                  f"{failed[-1].failure_kind}: {safe(failed[-1].detail or '')}")
    return EXIT_OK


def _change_brief(change: Any) -> dict[str, Any] | None:
    if change is None:
        return None
    return {"kind": change.kind, "words_added": change.words_added, "words_removed": change.words_removed}


def cmd_show(ctx: Context) -> int:
    with transaction(session_factory(ctx.engine(must_exist=True))) as session:
        if ctx.args.version is not None:
            version = queries.version_by_number(session, ctx.args.id, ctx.args.version)
        elif ctx.args.at is not None:
            version = queries.version_at(session, ctx.args.id, ctx.args.at)
        else:
            version = queries.latest_version(session, ctx.args.id)
        if ctx.args.json:
            _print_json(jsonview.version_json(version, with_text=True))
        else:
            sys.stdout.write(safe(version.text))
    return EXIT_OK


def cmd_diff(ctx: Context) -> int:
    with transaction(session_factory(ctx.engine(must_exist=True))) as session:
        versions = queries.versions_of(session, ctx.args.id)
        if len(versions) < 2 and (ctx.args.a is None or ctx.args.b is None):
            raise CommandError(f"{ctx.args.id} has {len(versions)} version(s): nothing to compare")
        b = ctx.args.b if ctx.args.b is not None else (versions[-1].number if ctx.args.a is None else None)
        a = ctx.args.a if ctx.args.a is not None else versions[-2].number
        if b is None:
            b = versions[-1].number
        old = queries.version_by_number(session, ctx.args.id, a)
        new = queries.version_by_number(session, ctx.args.id, b)
        diff = diff_texts(old.text, new.text)
        if ctx.args.json:
            _print_json(jsonview.diff_json(ctx.args.id, old, new, diff))
            return EXIT_OK
        colour = use_colour(sys.stdout, ctx.args.colour)
        print(f"{ctx.args.id}: v{old.number} ({jsonview.when(old.first_seen)}) → v{new.number} "
              f"({jsonview.when(new.first_seen)}): +{diff.words_added} / -{diff.words_removed} words")
        change = queries.change_for(session, new) if new.number == old.number + 1 else None
        if change is not None and change.flags:
            print(f"flags: {', '.join(change.flags)}  severity: {change.severity}")
            print(f"summary: {safe(change.summary)}")
        sys.stdout.write(render_diff(diff, colour, context=ctx.args.context))
    return EXIT_OK


def cmd_changes(ctx: Context) -> int:
    with transaction(session_factory(ctx.engine(must_exist=True))) as session:
        rows = queries.changes(session, ctx.args.source, ctx.args.since, flags=ctx.args.flag,
                               severities=ctx.args.severity)
        if ctx.args.json:
            _print_json([jsonview.change_json(r) for r in rows])
            return EXIT_OK
        for r in rows:
            c = r.change
            print(f"{jsonview.when(c.detected_at)}  {r.source.id}  v{r.from_number}→v{r.to_number}  {c.kind}  "
                  f"+{c.words_added} / -{c.words_removed} words"
                  + (f"  [{c.severity}] {safe(c.summary)}" if c.flags else ""))
        if not rows:
            print("no changes recorded")
    return EXIT_OK


def cmd_reextract(ctx: Context) -> int:
    from crawler.reextract import reextract

    sources = select_sources(ctx.sources(), ctx.args.only)
    factory = session_factory(ctx.engine(must_exist=True))
    results = reextract(factory, sources, ctx.args.now or datetime.now(timezone.utc))
    for result in results:
        if result.failure is not None:
            print(f"{result.source_id}: failed: {result.failure.kind}: {safe(result.failure.detail)}")
        elif result.outcome == "changed":
            print(f"{result.source_id}: new version {result.version_number} (technical change, not announced)")
        elif not ctx.args.quiet:
            print(f"{result.source_id}: {result.outcome}")
    changed = sum(r.outcome == "changed" for r in results)
    failed = sum(r.outcome == "failed" for r in results)
    print(f"re-extracted {len(results)} source(s): {changed} new version(s), {failed} failure(s)")
    return EXIT_FAILURES if failed else EXIT_OK


def cmd_classify(ctx: Context) -> int:
    from analysis.flags import classify_json_lines

    name = ctx.args.file
    try:
        stream = sys.stdin if name == "-" else open(name, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{name}: {exc.strerror}") from None
    with stream:
        try:
            for line in classify_json_lines(stream, ctx.args.language):
                print(line)
        except ValueError as exc:
            raise CommandError(f"{'standard input' if name == '-' else name}: {exc}") from None
    return EXIT_OK


def cmd_check(ctx: Context) -> int:
    from storage.integrity import check

    with transaction(session_factory(ctx.engine(must_exist=True))) as session:
        report = check(session)
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"PROBLEM: {safe(problem)}")
    counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    print(f"{'FAILED' if report.problems else 'ok'}: {len(report.problems)} problem(s); checked {counts}")
    return EXIT_FAILURES if report.problems else EXIT_OK


def cmd_demo(ctx: Context) -> int:
    from policywatch.demo import run_demo

    return run_demo(Path(ctx.args.dir), ctx.settings)


# --- parser ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policywatch", description=(
        "Keep a verifiable, diffable record of what vendors say about user data."))
    parser.add_argument("--db", help="database: an SQLAlchemy URL or an SQLite file path "
                        "(default: $POLICYWATCH_DB or ./policywatch.db)")
    parser.add_argument("--sources", help="declarations file or directory (default: the bundled sources/)")
    parser.add_argument("--config", help="settings file (TOML; default: ./policywatch.toml when present)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the crawler's log")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[Context], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("crawl", cmd_crawl, "fetch every declared source once and record what changed")
    p.add_argument("--only", nargs="+", metavar="ID", help="crawl only these source ids")
    p.add_argument("--now", type=time_argument, help="record this crawl as made at TIME (replays, demos)")

    p = add("extract", cmd_extract, "print what saved pages of a source extract to, without storing anything")
    p.add_argument("--source", required=True, metavar="ID")
    p.add_argument("files", nargs="+", metavar="FILE", help="the pages, in the order of the source's urls")

    p = add("import", cmd_import, "import saved snapshots listed in a JSON-lines manifest")
    p.add_argument("--manifest", required=True, metavar="FILE")

    p = add("sources", cmd_sources, "list declared sources and their state")
    p.add_argument("--json", action="store_true")

    p = add("history", cmd_history, "versions and fetch outcomes of one source")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")

    p = add("show", cmd_show, "print one version's text (default: the latest)")
    p.add_argument("id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--version", type=int, metavar="N")
    group.add_argument("--at", type=time_argument, metavar="TIME", help="the version in force at TIME")
    p.add_argument("--json", action="store_true")

    p = add("diff", cmd_diff, "word diff between two versions (default: the last two)")
    p.add_argument("id")
    p.add_argument("a", nargs="?", type=int, help="older version number")
    p.add_argument("b", nargs="?", type=int, help="newer version number (default: the latest)")
    p.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--context", type=int, default=2, metavar="LINES")
    p.add_argument("--json", action="store_true")

    p = add("changes", cmd_changes, "recorded changes, newest first")
    p.add_argument("--source", metavar="ID")
    p.add_argument("--since", type=time_argument, metavar="TIME")
    p.add_argument("--flag", action="append", choices=FLAG_CATEGORIES, metavar="CATEGORY",
                   help=f"only changes flagged with CATEGORY ({', '.join(FLAG_CATEGORIES)}); repeatable")
    p.add_argument("--severity", action="append", choices=("high", "medium", "low", "none"),
                   help="only changes of this severity; repeatable")
    p.add_argument("--json", action="store_true")

    p = add("reextract", cmd_reextract, "extract the latest stored snapshot of each source again with the "
            "current declarations; a different text becomes a `technical` change, never announced")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these source ids")
    p.add_argument("--now", type=time_argument, metavar="TIME", help="record the re-extraction as made at TIME")

    p = add("classify", cmd_classify, "flag JSON lines: read objects with a `text` field, write them back "
            "with `flags` and `evidence`")
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="JSON lines (default: standard input)")
    p.add_argument("--language", choices=("en", "de", "fr"), help="default: detected per line")

    add("check", cmd_check, "verify the database: integrity, every version with its snapshots, every change "
        "with its versions, every raw snapshot against its sha256; exit 1 on any problem")

    from policywatch import report_commands

    report_commands.register(add)

    p = add("demo", cmd_demo, "run the offline demonstration against a local server")
    p.add_argument("--dir", default="demo", help="where to leave policywatch.db (default: ./demo)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(Context(args))
    except (CommandError, ConfigError, DeclarationError, DatabaseError, ManifestError, queries.NotFound) as exc:
        _err(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        # Distinct from 1 ("some sources failed"), so cron and systemd see a crash as a crash.
        traceback.print_exc()
        _err("internal error (traceback above); nothing after the last completed source was recorded")
        return EXIT_CRASH


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
