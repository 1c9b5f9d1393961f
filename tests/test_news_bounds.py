"""The news night's bounds and manners against servers on 127.0.0.1: a feed pointing at 10,000 items, GDELT's
one request per interval, feeds that fail, and `scrapy crawl news`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from conftest import CLI, REPO, write_declarations
from news_site import STORIES, serve_newsroom, write_news_declarations
from policywatch.localserver import LocalServer, Page

OFF_TOPIC = (b"<html lang='en'><head><title>Harbour news</title></head><body><article><h1>Harbour news</h1>"
             + b"<p>The ferry timetable changes in spring, and the harbour master expects more visitors.</p>" * 12
             + b"</article></body></html>")


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_feed_pointing_at_10000_items_is_read_within_the_nights_bounds(server: LocalServer, tmp_path: Path) -> None:
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    page = Page(OFF_TOPIC)
    items = []
    for n in range(10_000):
        server.routes[f"/a/{n}"] = page
        items.append(f"<item><title>OpenAI story {n}</title><link>{server.base_url}/a/{n}</link>"
                     f"<pubDate>{format_datetime(start + timedelta(minutes=n))}</pubDate></item>")
    server.routes["/huge.rss"] = Page(f"<?xml version='1.0'?><rss version='2.0'><channel><title>Huge</title>"
                                      f"{''.join(items)}</channel></rss>".encode(), content_type="application/rss+xml")
    news = write_news_declarations(tmp_path / "news.yaml", server.base_url, [
        {"id": "huge/feed", "kind": "feed", "url": server.base_url + "/huge.rss", "language": "en",
         "outlet": "Huge", "type": "press", "max_items": 10_000}])
    cli = CLI(tmp_path / "policywatch.db", None, tmp_path, news)
    fetched: list[set[str]] = []
    for night in ("2025-06-10T03:00:00Z", "2025-06-11T03:00:00Z"):
        before = len(server.hits)
        cli("news", "--now", night, env={"POLICYWATCH_NEWS_MAX_CANDIDATES": "30"})
        fetched.append({h for h in server.hits[before:] if h.startswith("/a/")})
    assert [len(f) for f in fetched] == [30, 30], "at most the night's budget of article pages"
    assert not fetched[0] & fetched[1], "the next night takes the next items, not the same ones again"
    newest = {f"/a/{n}" for n in range(9_999, 9_969, -1)}
    assert fetched[0] == newest, "newest first"
    (seen, candidates, notes), *_ = rows(cli.db, "select items_seen, candidates, notes from news_feed_fetches")
    assert (seen, candidates) == (10_000, 200), "one document yields at most 200 candidates"
    assert "10000 items: kept the 200 newest" in notes and "the night's limit of 30 candidates is reached" in notes
    assert rows(cli.db, "select count(*) from news_articles") == [(0,)]
    assert rows(cli.db, "select count(*), min(decision) from news_discoveries") == [(60, "off_topic")]


def test_gdelt_queries_are_spaced_at_least_the_interval_apart(server: LocalServer, tmp_path: Path) -> None:
    serve_newsroom(server)
    story = STORIES[0]
    answer = json.dumps({"articles": [{"url": server.base_url + story.path, "title": story.title,
                                       "seendate": "20250612T060000Z", "language": "English"}]}).encode()
    interval = 0.6
    with LocalServer() as gdelt:
        gdelt.routes["/api/v2/doc/doc"] = Page(answer, content_type="application/json")
        news = write_news_declarations(tmp_path / "news.yaml", server.base_url, [
            {"id": f"gdelt/q{n}", "kind": "gdelt", "query": f"OpenAI privacy {n}", "language": "en",
             "outlet": "GDELT", "type": "press", "enabled": True} for n in range(3)])
        cli = CLI(tmp_path / "policywatch.db", None, tmp_path, news)
        result = cli("news", "--now", "2025-06-12T10:00:00Z", env={
            "POLICYWATCH_GDELT_API": gdelt.base_url + "/api/v2/doc/doc", "POLICYWATCH_GDELT_INTERVAL": str(interval)})
        times = [at for _, at in gdelt.timed_hits]
        paths = [path for path, _ in gdelt.timed_hits]
    assert paths == ["/robots.txt"] + ["/api/v2/doc/doc"] * 3, "robots.txt counts as a request to GDELT too"
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= interval, gaps
    assert "news run 1 (ok): 3 news sources read, 1 new article" in result.stdout
    assert rows(cli.db, "select language from news_articles") == [("en",)]
    # The articles GDELT names are fetched at the outlet's own pace, not GDELT's.
    assert server.hits.count(story.path) == 1


def test_feeds_that_fail_are_recorded_with_their_kind_and_set_the_exit_status(server: LocalServer,
                                                                             tmp_path: Path) -> None:
    serve_newsroom(server)
    server.routes["/not-a-feed"] = Page(b"<html><body><p>Hello</p></body></html>")
    feeds = [("gone", "/gone.rss"), ("html", "/not-a-feed"), ("good", "/feed.rss")]
    news = write_news_declarations(tmp_path / "news.yaml", server.base_url, [
        {"id": f"t/{name}", "kind": "feed", "url": server.base_url + path, "language": "en", "outlet": name,
         "type": "press", "enabled": name != "good"} for name, path in feeds])
    cli = CLI(tmp_path / "policywatch.db", None, tmp_path, news)
    failed = cli("news", "--now", "2025-06-12T10:00:00Z", check=False)
    assert failed.returncode == 2, failed.stderr
    assert "news run 1 (failed): 2 news sources read, 0 new articles" in failed.stdout
    assert f"failed news source t/gone: http_error: HTTP 404 at {server.base_url}/gone.rss" in failed.stdout
    assert (f"failed news source t/html: not_a_feed: {server.base_url}/not-a-feed: not an RSS or Atom feed"
            in failed.stdout)
    partial = cli("news", "--only", "t/gone", "t/good", "--now", "2025-06-13T10:00:00Z", check=False)
    assert partial.returncode == 1 and "news run 2 (partial): 2 news sources read, 7 new articles" in partial.stdout
    quiet = CLI(tmp_path / "policywatch.db", None, tmp_path, news)
    only_failures = quiet("-q", "news", "--only", "t/gone", "--now", "2025-06-14T10:00:00Z", check=False)
    assert only_failures.stdout.splitlines() == [f"failed news source t/gone: http_error: HTTP 404 at "
                                                 f"{server.base_url}/gone.rss"]
    cli("report", "--out", str(tmp_path / "site"))
    runs = (tmp_path / "site" / "runs.html").read_text(encoding="utf-8")
    assert '<a href="coverage/index.html">t/gone</a></th><td>http_error</td>' in runs
    assert "news source &#39;t/html&#39;" not in runs and "not_a_feed: a news feed, sitemap or GDELT answer" in runs
    broken = tmp_path / "broken.yaml"
    broken.write_text("news:\n  - id: x/y\n    kind: podcast\n", encoding="utf-8")
    bad = CLI(tmp_path / "other.db", None, tmp_path, broken)("news", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith(f"policywatch: {broken}: news source 'x/y'")
    assert not (tmp_path / "other.db").exists()


def test_scrapy_crawl_news_works_from_the_project(server: LocalServer, tmp_path: Path) -> None:
    serve_newsroom(server)
    news = write_news_declarations(tmp_path / "news.yaml", server.base_url)
    db = tmp_path / "scrapy.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")},
           "POLICYWATCH_DB": str(db), "POLICYWATCH_NEWS": str(news), "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "1"}
    subprocess.run([sys.executable, "-m", "scrapy", "crawl", "news", "-a", "only=newsroom/all"], cwd=REPO, env=env,
                   capture_output=True, text=True, check=True, timeout=120)
    assert rows(db, "select kind, status, sources_checked from runs") == [("news", "ok", 1)]
    assert rows(db, "select count(*) from news_articles where status = 'readable'") == [(5,)]


def test_run_reads_the_news_after_the_policies_and_publishes_both(server: LocalServer, tmp_path: Path) -> None:
    serve_newsroom(server)
    server.routes["/policy"] = Page(b"<html><body><main><h1>Policy</h1><p>We keep chats for 30 days.</p></main>"
                                    b"</body></html>")
    sources = write_declarations(tmp_path / "sources.yaml", server.base_url,
                                 [{"id": "t/policy", "urls": ["/policy"], "select": "main"}])
    news = write_news_declarations(tmp_path / "news.yaml", server.base_url)
    cli = CLI(tmp_path / "policywatch.db", sources, tmp_path, news)
    site = tmp_path / "site"
    result = cli("run", "--out", str(site), "--now", "2025-06-12T03:00:00Z")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("policywatch run 1: 1 source checked, 1 new version")
    assert lines[1] == ("news run 2 (ok): 1 news source read, 7 new articles, 0 new editions, 0 articles checked "
                        "again, 0 sources failed")
    assert rows(cli.db, "select id, kind, status from runs") == [(1, "crawl", "ok"), (2, "news", "ok")]
    assert len(list((site / "coverage").glob("*.html"))) == 1 + 7, "the report shows the night's coverage"
    quiet = cli("run", "--out", str(site), "-q", "--now", "2025-06-13T03:00:00Z")
    assert quiet.stdout == "", "cron mails nothing when the policies and the news were read"


def test_the_real_gdelt_is_never_asked_more_often_than_every_five_seconds() -> None:
    from crawler.settings import CrawlOptions, scrapy_settings

    assert scrapy_settings(CrawlOptions(gdelt_interval=0.5))["POLICYWATCH_SPACED_HOSTS"] == {"api.gdeltproject.org": 5.0}
    stand_in = CrawlOptions(gdelt_interval=0.5, gdelt_api="http://127.0.0.1:8/api/v2/doc/doc")
    assert scrapy_settings(stand_in)["POLICYWATCH_SPACED_HOSTS"] == {"127.0.0.1:8": 0.5}
