"""The offline demonstration: a fictional vendor's pages served from 127.0.0.1,
crawled once per simulated day by the real spider, then the record is shown.

Editions (policywatch/demo_pages/edition-N): 1 the first publication; 2 markup
only (wrappers, attributes, whitespace: no new version); 3 a retention period
changes in the help article; 4 the privacy policy changes what it says about
training on images and about sharing.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from policywatch.config import Settings
from policywatch.localserver import LocalServer, Page

PAGES = Path(__file__).resolve().parent / "demo_pages"
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


def run_demo(directory: Path, settings: Settings) -> int:
    from crawler.runner import CrawlPlan, run_crawls
    from policywatch.cli import main as cli

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "policywatch.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    with LocalServer() as server:
        declarations = write_declarations(directory, server.base_url)
        demo_settings = replace(settings, db=str(db), sources=declarations, allow_private_addresses=True,
                                autothrottle=False, retry_times=1, backoff_base=0.1)
        plans = []
        for number in range(1, EDITIONS + 1):
            def publish(number: int = number) -> None:
                server.routes.clear()
                server.routes.update(edition_routes(number))
                print(f"--- day {number}: the vendor serves edition {number}", flush=True)
            plans.append(CrawlPlan(now=FIRST_DAY + timedelta(days=number - 1), before=publish))
        print(f"serving the demo vendor at {server.base_url}; declarations in {declarations}")
        run_ids = run_crawls(demo_settings, plans, {"LOG_LEVEL": "WARNING"})
    print("\n=== the four nightly runs")
    from storage.db import make_engine, session_factory, transaction
    from policywatch.summary import describe_runs
    engine = make_engine(demo_settings.db_url)
    with transaction(session_factory(engine)) as session:
        print("\n".join(describe_runs(session, run_ids)[0]))
    engine.dispose()
    common = ["--db", str(db), "--sources", str(declarations)]
    print("\n=== history of each document")
    for source_id in ("nimbus/privacy-policy", RETENTION_SOURCE):
        cli([*common, "history", source_id])
    print(f"\n=== the retention change ({RETENTION_SOURCE}, word diff)")
    status = cli([*common, "diff", RETENTION_SOURCE])
    site = directory / "site"
    print("\n=== the report")
    status = max(status, cli([*common, "report", "--out", str(site)]))
    print(f"\nThe record is in {db}. Try also:\n  policywatch --db {db} --sources {declarations} changes")
    sys.stdout.flush()
    return status
