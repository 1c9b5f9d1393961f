"""`policywatch doctor`: is this installation ready for a real crawl? Each check says what to fix.

Nothing here touches the network: the declarations, settings and Apprise
URLs are read and parsed, executables are asked for their version, and the
only connection opened is to the configured database when it is a server.
Nothing is written either, except a probe file created and removed in the
report directory: the database's schema is neither created nor upgraded, and
an SQLite file is opened read-only. Each check imports what it checks (the
crawler, the report builder), so only this command pays for loading them.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from analysis.errors import UserInputError
from policywatch.commands.context import Context, ExitStatus
from policywatch.config import DEFAULT_CONFIG_FILE, ENV_PREFIX
from storage.db import (NewerSchemaError, database_name, database_problem, foreign_database_message, redact_url,
                        schema_state)

if TYPE_CHECKING:
    from ingest.declarations import Source

UNDECLARED_SHOWN = 5
CHROMIUM_HINT = "sudo apt-get install chromium (Debian, Ubuntu), or set chromium = \"/path/to/chromium\" in the settings"


@dataclass(frozen=True)
class Check:
    status: str  # ok, note (works, with something to know), fix
    topic: str
    message: str


def _settings(ctx: Context, args: argparse.Namespace) -> list[Check]:
    from reports.notify.deliver import apprise_missing, check_url

    path = args.config or os.environ.get(ENV_PREFIX + "CONFIG") or (
        str(DEFAULT_CONFIG_FILE) if DEFAULT_CONFIG_FILE.is_file() else None)
    targets = ctx.settings.notify
    found = [Check("ok", "settings", f"{path or 'no settings file: defaults and POLICYWATCH_* variables'}; "
                   f"{len(targets)} notification target(s)")]
    missing = apprise_missing()
    if targets and missing:
        found.append(Check("fix", "notifications", f"{len(targets)} target(s) configured but {missing}"))
    elif targets:
        for target in targets:
            problem = check_url(target.url)
            found.append(Check("fix" if problem else "ok", "notifications",
                               f"{target.label}: {problem}" if problem else f"{target.label}: Apprise reads the URL"))
    return found


def _database(ctx: Context) -> Check:
    url = ctx.settings.db_url
    shown = redact_url(url)
    missing = ctx.missing_database()
    if missing is not None:
        parent = Path(missing).expanduser().resolve().parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            return Check("fix", "database", f"no database at {missing}, and {parent} is not a writable directory")
        if Path(missing).exists():
            return Check("note", "database", f"{missing} is empty (0 bytes): the first crawl or import makes a "
                                             "record of it; no other command reads it")
        return Check("note", "database", f"no database yet at {missing}: the first crawl or import creates it")
    name = database_name(url)
    try:
        state = schema_state(ctx.inspected_engine())
    except NewerSchemaError as exc:
        return Check("fix", "database", str(exc))
    except UserInputError:
        raise
    except Exception as exc:  # a server that refuses, a file that is not a database: the user's to fix
        return Check("fix", "database", f"cannot read it: {database_problem(exc, database=name)}")
    if state.foreign:
        return Check("fix", "database", foreign_database_message(name, state.foreign))
    if state.current:
        return Check("ok", "database", f"{shown}, schema {state.revision} (current)")
    # The doctor only looks: the schema is created or upgraded by the commands that use the record.
    return Check("note", "database", f"{shown}, {state.pending()}")


def _browser(ctx: Context) -> Check:
    from crawler.browser import browser_available

    chromium = ctx.settings.chromium
    problem = browser_available(chromium)
    if problem is not None:
        hint = CHROMIUM_HINT if "Chromium" in problem else "pip install -e '.[browser]' (make install does)"
        return Check("fix", "browser", f"{problem}: {hint}; without it, pages that need a browser are recorded "
                                       f"as failed fetches")
    try:
        done = subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=30)
        version = done.stdout.strip() or done.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("fix", "browser", f"{chromium} does not run: {exc}: {CHROMIUM_HINT}")
    return Check("ok", "browser", f"{version or chromium} with playwright and scrapy-playwright")


def _declarations(ctx: Context, sources_of: Callable[[], dict[str, Source]],
                  recorded: Callable[[], list[str]]) -> list[Check]:
    from ingest.news.declarations import select_news

    found = []
    sources = sources_of()
    browser = sum(1 for s in sources.values() if s.fetch == "browser")
    found.append(Check("ok" if sources else "fix", "sources",
                       f"{len(sources)} declared in {ctx.settings.sources}" + (f" ({browser} fetched with the "
                                                                                f"browser)" if browser else "")
                       if sources else f"no source is declared in {ctx.settings.sources}"))
    undeclared = sorted(set(recorded()) - set(sources))
    if undeclared:
        shown = ", ".join(undeclared[:UNDECLARED_SHOWN]) + (", …" if len(undeclared) > UNDECLARED_SHOWN else "")
        found.append(Check("note", "sources", f"{len(undeclared)} recorded source(s) not declared in "
                                              f"{ctx.settings.sources}, so no longer checked: {shown} (their record "
                                              f"is kept; declare them again, or point --sources at the declarations "
                                              f"this database was crawled with)"))
    news = ctx.news()
    found.append(Check("ok", "news", f"{len(select_news(news.sources))} of {len(news.sources)} news source(s) "
                                     f"enabled in {ctx.settings.news}"))
    return found


def _recorded_ids(ctx: Context) -> list[str]:
    from storage.claims_queries import recorded_source_ids
    from storage.db import reading, session_factory

    with reading(session_factory(ctx.inspected_engine())) as session:
        return recorded_source_ids(session)


def _claims(ctx: Context, sources_of: Callable[[], dict[str, Source]], recorded: Callable[[], list[str]]
            ) -> list[Check]:
    from ingest.claims_declarations import load_claims, unmatched_scopes

    try:
        sources = sources_of()
    except UserInputError:
        # The declarations' own check says what is wrong with them: the claims are read without them, once.
        claims = load_claims(ctx.settings.claims)
        return [Check("ok", "claims", f"{len(claims)} claim(s) in {ctx.settings.claims} (their scopes not checked "
                                      "until the declarations are fixed)")]
    plan = ctx.claims_plan(sources)
    claims = list(plan.claims())
    found = [Check("ok", "claims", f"{len(claims)} claim(s) in {ctx.settings.claims}")]
    # The warning each evaluation gives (a scope pattern that matches no source: a mistyped id?), before any does.
    scoped = [c for c in claims if c.scope]
    if scoped:
        vendors = {sid: source.vendor for sid, source in plan.sources.items()}
        found += [Check("note", "claims", warning) for warning in unmatched_scopes(scoped, vendors, recorded())]
    return found


def _report_dir(out: Path) -> Check:
    probe_dir = out if out.exists() else next((p for p in out.resolve().parents if p.exists()), Path("/"))
    if out.exists() and not out.is_dir():
        return Check("fix", "report directory", f"{out} exists and is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".policywatch-doctor-"):
            pass
    except OSError as exc:
        return Check("fix", "report directory", f"cannot write in {probe_dir}: {exc.strerror}")
    return Check("ok", "report directory", f"{out} is writable" if out.exists() else
                 f"{out} does not exist yet; {probe_dir} is writable, so `report` can create it")


def _optional() -> list[Check]:
    from reports.notify.deliver import apprise_missing
    from reports.search import pagefind_problem

    found = []
    problem = pagefind_problem()
    found.append(Check("note", "search", f"{problem}; the site is built without a search index")
                 if problem else Check("ok", "search", "Pagefind runs: `report` builds the search index"))
    if apprise_missing():
        found.append(Check("note", "notifications", "Apprise is not installed: pip install -e '.[notify]' to send "
                                                    "notifications"))
    if shutil.which("git") is None:
        found.append(Check("note", "git", "git is not installed: `import --ota` needs it"))
    return found


def _guarded(topic: str, check: Callable[[], Check | list[Check]]) -> list[Check]:
    try:
        result = check()
    except UserInputError as exc:
        return [Check("fix", topic, str(exc))]
    return result if isinstance(result, list) else [result]


def doctor(ctx: Context, args: argparse.Namespace) -> int:
    database = _guarded("database", lambda: _database(ctx))
    usable = all(check.status == "ok" for check in database)
    # Read once for the declarations' and the claims' checks. A database the doctor could not use is its own
    # check's failure, said once; one whose schema is not current yet is not read with the current one.
    sources_of = functools.cache(ctx.sources)
    recorded = functools.cache(lambda: _recorded_ids(ctx) if usable else [])
    checks = (_guarded("settings", lambda: _settings(ctx, args)) + database
              + _guarded("browser", lambda: _browser(ctx))
              + _guarded("declarations", lambda: _declarations(ctx, sources_of, recorded))
              + _guarded("claims", lambda: _claims(ctx, sources_of, recorded))
              + _guarded("report directory", lambda: _report_dir(Path(args.out))) + _optional())
    for check in checks:
        # Quiet, only what needs fixing (cron mails only what goes wrong), as the other commands do.
        if not ctx.quiet or check.status == "fix":
            ctx.say(f"{check.status:<5} {check.topic}: {check.message}")
    to_fix = sum(check.status == "fix" for check in checks)
    if not ctx.quiet:
        ctx.say(f"policywatch doctor: {to_fix} thing(s) to fix" if to_fix else "policywatch doctor: ready")
    return ExitStatus.FAILURES if to_fix else ExitStatus.OK
