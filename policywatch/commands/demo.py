"""`policywatch demo`: a fictional vendor's pages served from 127.0.0.1, crawled once per simulated day
by the real spider, then the record is shown as the reading commands show it.

Editions (policywatch/demo_pages/edition-N): 1 the first publication; 2 markup
only (wrappers, attributes, whitespace: no new version); 3 a retention period
changes in the help article; 4 the privacy policy changes what it says about
training on images and about sharing.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from policywatch.commands.context import AddCommand, Context
from policywatch.commands.crawl import report_runs
from policywatch.commands.reading import print_diff, print_history
from policywatch.commands.report import build_report, print_build
from policywatch.localserver import LocalServer, Page

PAGES = Path(__file__).resolve().parent.parent / "demo_pages"
EDITIONS = 4
FIRST_DAY = datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)
ROUTES = {"/legal/privacy": "privacy.html", "/help/articles/42-chat-retention": "help-retention.html"}
RETENTION_SOURCE = "nimbus/help-chat-retention"


def edition_routes(number: int) -> dict[str, Page]:
    folder = PAGES / f"edition-{number}"
    return {path: Page((folder / name).read_bytes()) for path, name in ROUTES.items()}


def write_declarations(directory: Path, base_url: str) -> Path:
    template = (PAGES / "sources.yaml.tmpl").read_text(encoding="utf-8")
    path = directory / "sources.yaml"
    path.write_text(template.replace("{base}", base_url), encoding="utf-8")
    return path


def run_demo(ctx: Context, directory: Path) -> int:
    from crawler.runner import CrawlPlan, run_crawls

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "policywatch.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    with LocalServer() as server:
        declarations = write_declarations(directory, server.base_url)
        demo = Context(replace(ctx.settings, db=str(db), sources=declarations, allow_private_addresses=True,
                               autothrottle=False, retry_times=1, backoff_base=0.1), out=ctx.out)
        plans = []
        for number in range(1, EDITIONS + 1):
            def publish(number: int = number) -> None:
                server.routes.clear()
                server.routes.update(edition_routes(number))
                demo.say(f"--- day {number}: the vendor serves edition {number}")
            plans.append(CrawlPlan(now=FIRST_DAY + timedelta(days=number - 1), before=publish))
        demo.say(f"serving the demo vendor at {server.base_url}; declarations in {declarations}")
        run_ids = run_crawls(demo.settings.crawl_options(), plans, {"LOG_LEVEL": "WARNING"})
    try:
        demo.say("\n=== the four nightly runs")
        status = report_runs(demo, run_ids)
        demo.say("\n=== history of each document")
        for source_id in ("nimbus/privacy-policy", RETENTION_SOURCE):
            print_history(demo, source_id)
        demo.say(f"\n=== the retention change ({RETENTION_SOURCE}, word diff)")
        status = max(status, print_diff(demo, RETENTION_SOURCE))
        site = directory / "site"
        demo.say("\n=== the report")
        print_build(demo, build_report(demo, site), site)
        demo.say(f"\nThe record is in {db}. Try also (from this folder, after `make demo`):\n"
                 f"  .venv/bin/policywatch --db {db} --sources {declarations} changes")
    finally:
        demo.close()
    return status


def demo(ctx: Context, args: argparse.Namespace) -> int:
    return run_demo(ctx, Path(args.dir))


def register(add: AddCommand) -> None:
    p = add("demo", demo, "run the offline demonstration against a local server")
    p.add_argument("--dir", default="demo", help="where to leave policywatch.db (default: ./demo)")
