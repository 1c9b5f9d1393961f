"""`policywatch demo`: a fictional vendor's pages and a fictional press served from 127.0.0.1, crawled once
per simulated day by the real spiders, then the record is shown as the reading commands show it.

Editions (policywatch/demo_pages/edition-N): 1 the first publication; 2 markup
only (wrappers, attributes, whitespace: no new version); 3 a retention period
changes in the help article; 4 the privacy policy changes what it says about
training on images and about sharing.

The press (policywatch/demo_pages/news): an outlet writing in English, German
and French, and a paper republishing one of its stories. Day 1 an article
about the vendor's new office (off topic: read, not kept); day 3 the
retention change in English, its syndicated copy, and a French article that
gets a figure wrong; day 4 the French article's corrected edition, and a
German article repeating that temporary chats are deleted after 30 days —
which the vendor stopped saying on day 3: a stale repetition, shown in the
night's output, by `policywatch mentions --stale` and on the claim's page.

The vendor also gets claims (policywatch/demo_pages/claims.yaml, copied
beside the declarations): the third edition weakens "temporary chats are
deleted after 30 days", which the terminal shows after the diff and the
claims feed announces.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from policywatch.commands.articles import article_line, print_article
from policywatch.commands.claims import list_claims, print_run_claims
from policywatch.commands.context import Context, UserError
from policywatch.commands.crawl import report_runs
from policywatch.commands.mentions import list_mentions
from policywatch.commands.news import report_news_runs
from policywatch.commands.reading import print_diff, print_history
from policywatch.commands.report import build_report, print_build
from policywatch.localserver import LocalServer, Page
from storage import news_queries
from storage.db import transaction

PAGES = Path(__file__).resolve().parent.parent / "demo_pages"
NEWS_PAGES = PAGES / "news"
EDITIONS = 4
FIRST_DAY = datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)
# The press is read an hour after the policies, as `policywatch run` reads it after them.
NEWS_AFTER = timedelta(hours=1)
ROUTES = {"/legal/privacy": "privacy.html", "/help/articles/42-chat-retention": "help-retention.html"}
RETENTION_SOURCE = "nimbus/help-chat-retention"
CORRECTED_STORY = "/privacy-desk/fr/2026/01/03/nimbus-ai-conversations-temporaires"
DEMO_VENDOR = {"vendor": "Nimbus AI", "patterns": [r"\bNimbus(?: AI)?\b"]}
CLAIM = "nimbus/temporary-chats-deleted-after-30-days"


def edition_routes(number: int) -> dict[str, Page]:
    folder = PAGES / f"edition-{number}"
    return {path: Page((folder / name).read_bytes()) for path, name in ROUTES.items()}


def _stories() -> dict[str, Any]:
    import yaml  # the demo alone writes YAML: other commands do not load PyYAML for it

    data: dict[str, Any] = yaml.safe_load((NEWS_PAGES / "stories.yaml").read_text(encoding="utf-8"))
    return data


def _feed(outlet: dict[str, Any], stories: list[dict[str, Any]], base: str) -> bytes:
    items = "".join(
        f"<item><title>{escape(s['title'])}</title><description>{escape(s['summary'])}</description>"
        f"<link>{escape(base + s['path'])}?utm_source=rss</link><guid isPermaLink='false'>{escape(s['path'])}</guid>"
        f"<pubDate>{format_datetime(FIRST_DAY + timedelta(days=s['day'] - 1, hours=2))}</pubDate></item>"
        for s in stories)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(outlet['outlet'])}"
            f"</title><link>{escape(base)}</link>{items}</channel></rss>").encode("utf-8")


def press_routes(day: int, base: str) -> dict[str, Page]:
    """The press as it stands on `day`: each outlet's feed and every story published so far, in its latest
    edition."""
    data = _stories()
    routes: dict[str, Page] = {}
    published = [s for s in data["stories"] if s["day"] <= day]
    for story in published:
        editions = {int(d): name for d, name in (story.get("editions") or {}).items() if int(d) <= day}
        name = editions[max(editions)] if editions else story["page"]
        routes[story["path"]] = Page((NEWS_PAGES / name).read_bytes().replace(b"{base}", base.encode()))
    for outlet in data["outlets"]:
        routes[outlet["feed"]] = Page(_feed(outlet, [s for s in published if s["outlet"] == outlet["id"]], base),
                                      content_type="application/rss+xml")
    return routes


def write_news_declarations(directory: Path, base_url: str) -> Path:
    """The demo press as news declarations, with the bundled relevance rules taught the demo vendor's name."""
    import yaml

    from ingest.news.declarations import BUNDLED_DIR as BUNDLED_NEWS

    folder = directory / "news"
    folder.mkdir(parents=True, exist_ok=True)
    news = [{"id": o["id"], "kind": "feed", "url": base_url + o["feed"], "language": o["language"],
             "outlet": o["outlet"], "type": o["type"]} for o in _stories()["outlets"]]
    (folder / "news.yaml").write_text(yaml.safe_dump({"news": news}, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")
    relevance = yaml.safe_load((BUNDLED_NEWS / "relevance.yaml").read_text(encoding="utf-8"))
    relevance["relevance"]["vendors"].append(DEMO_VENDOR)
    (folder / "relevance.yaml").write_text(yaml.safe_dump(relevance, sort_keys=False, allow_unicode=True),
                                           encoding="utf-8")
    return folder


def write_declarations(directory: Path, base_url: str) -> Path:
    template = (PAGES / "sources.yaml.tmpl").read_text(encoding="utf-8")
    path = directory / "sources.yaml"
    path.write_text(template.replace("{base}", base_url), encoding="utf-8")
    return path


def write_claims(directory: Path) -> Path:
    path = directory / "claims.yaml"
    path.write_bytes((PAGES / "claims.yaml").read_bytes())
    return path


DEMO_SOURCE_PREFIX = "nimbus/"


def refuse_foreign_record(db: Path) -> None:
    """The demo starts from an empty record and removes the one an earlier demo left: any other record in its
    directory is someone's evidence, and stays."""
    if not db.exists():
        return
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM sources")]
    except sqlite3.Error as exc:
        raise UserError(f"{db} is there and is not a record an earlier demo left ({exc}): the demo does not "
                        "replace it; give it another --dir") from None
    foreign = [sid for sid in ids if not sid.startswith(DEMO_SOURCE_PREFIX)]
    if foreign:
        raise UserError(f"{db} holds a record that is not the demo's (sources such as {foreign[0]}): the demo "
                        "does not replace it; give it another --dir")


def run_demo(ctx: Context, directory: Path) -> int:
    from crawler.runner import CrawlPlan, news_plan, run_crawls

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "policywatch.db"
    refuse_foreign_record(db)
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    with LocalServer() as server:
        declarations = write_declarations(directory, server.base_url)
        news = write_news_declarations(directory, server.base_url)
        claims = write_claims(directory)
        demo = Context(replace(ctx.settings, db=str(db), sources=declarations, news=news, claims=claims,
                               allow_private_addresses=True, autothrottle=False, retry_times=1, backoff_base=0.1),
                       out=ctx.out)
        plans = []
        for number in range(1, EDITIONS + 1):
            def publish(number: int = number) -> None:
                server.routes.clear()
                server.routes.update(edition_routes(number))
                server.routes.update(press_routes(number, server.base_url))
                demo.say(f"--- day {number}: the vendor serves edition {number}")
            day = FIRST_DAY + timedelta(days=number - 1)
            plans += [CrawlPlan(now=day, before=publish), news_plan(now=day + NEWS_AFTER)]
        demo.say(f"serving the demo vendor and press at {server.base_url}; declarations in {declarations} "
                 f"and {news}")
        results = run_crawls(demo.settings.crawl_options(), plans, {"LOG_LEVEL": "WARNING"})
    try:
        demo.say("\n=== the four nightly runs")
        status = report_runs(demo, results[0::2])
        demo.say("\n=== history of each document")
        for source_id in ("nimbus/privacy-policy", RETENTION_SOURCE):
            print_history(demo, source_id)
        demo.say(f"\n=== the retention change ({RETENTION_SOURCE}, word diff)")
        status = max(status, print_diff(demo, RETENTION_SOURCE))
        demo.say(f"\n=== claims about Nimbus AI ({claims})")
        print_run_claims(demo, [r.run_id for r in results])
        status = max(status, list_claims(demo, argparse.Namespace(id=None, status=None, json=False)))
        demo.say("\n=== the press, read after the policies each night")
        status = max(status, report_news_runs(demo, results[1::2]))
        demo.say("\n=== the coverage found (`policywatch articles`)")
        with transaction(demo.factory()) as session:
            listed = news_queries.listings(session)
            for row in listed:
                demo.say(article_line(row))
            corrected = next(r.article.id for r in listed if r.article.canonical_url.endswith(CORRECTED_STORY))
        demo.say("\n=== articles repeating a claim after the vendor stopped stating it "
                 "(`policywatch mentions --stale`)")
        status = max(status, list_mentions(demo, argparse.Namespace(claim=None, review=None, stance=None, stale=True,
                                                                    json=False, all_versions=False)))
        demo.say("\n=== an article corrected in its next edition (`policywatch article`)")
        print_article(demo, corrected[:12])
        site = directory / "site"
        demo.say("\n=== the report")
        print_build(demo, build_report(demo, site), site)
        demo.say(f"\nThe record is in {db}. Try also (from this folder, after `make demo`):\n"
                 f"  .venv/bin/policywatch --db {db} --sources {declarations} changes\n"
                 f"  .venv/bin/policywatch --db {db} articles --language de\n"
                 f"  .venv/bin/policywatch --db {db} mentions --claim {CLAIM}\n"
                 f"  .venv/bin/policywatch --db {db} --sources {declarations} --claims {claims} "
                 f"claims show {CLAIM}")
    finally:
        demo.close()
    return status


def demo(ctx: Context, args: argparse.Namespace) -> int:
    return run_demo(ctx, Path(args.dir))
