"""CPU time of a news night: `policywatch news` over 20 feeds and 200 candidate articles served on 127.0.0.1.

    python bench/news_night.py [--feeds 20] [--per-feed 10]

Serves ``feeds`` RSS feeds of ``per-feed`` items each from a local server in
this process; the articles are the saved EN/DE/FR fixture pages (kept,
paywalled, TDM-reserved, off topic), each under its own URL with its text
varied so that no two are the same. Then runs the real command twice, in a
subprocess, into a fresh SQLite file: the first night (every feed read,
every candidate screened, fetched, judged, flagged, signed for syndication
and recorded) and the next day's night (the feeds again, every recorded
article fetched again for its one-day check). Prints the command's CPU time
(user + system, from the kernel's accounting of the child process) and wall
time for each, and what the night found. Politeness delays are off
(`autothrottle = false`); Scrapy still fetches one page at a time per host.

The building blocks alone (discovery, screening, ``process_page``, MinHash,
no Scrapy and no storage) are measured with ``--blocks``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.syndication import SyndicationIndex, signature  # noqa: E402
from ingest.news.declarations import NewsKind, NewsSource, OutletType, load_news  # noqa: E402
from ingest.news.discovery import NightBudget, discover  # noqa: E402
from ingest.news.process import process_page, screen  # noqa: E402
from policywatch.localserver import LocalServer  # noqa: E402
from policywatch.localserver import Page as Served  # noqa: E402

ARTICLES = REPO / "tests" / "data" / "news" / "articles"
PAGES = [
    ("en-temporary-chats", "en", "ChatGPT keeps temporary chats for 30 days", "OpenAI deletes temporary chats after 30 days."),
    ("de-fotos", "de", "Was ChatGPT mit hochgeladenen Fotos macht", "OpenAI speichert hochgeladene Bilder."),
    ("fr-historique", "fr", "ChatGPT : ce que devient l'historique", "OpenAI supprime les conversations temporaires."),
    ("en-tdm-reserved", "en", "OpenAI's privacy portal", "Users can ask OpenAI to delete their data."),
    ("de-paywall", "de", "OpenAI und die Trainingsdaten", "Wie OpenAI Chats für das Training nutzt."),
    ("en-offtopic", "en", "Council approves new cycle lanes", "Work starts in September."),
]


def serve(server: LocalServer, feeds: int, per_feed: int) -> list[str]:
    """Feeds and articles on the server; returns the feed URLs."""
    templates = {name: (ARTICLES / f"{name}.html").read_bytes() for name, *_ in PAGES}
    urls = []
    for f in range(feeds):
        items = []
        for i in range(per_feed):
            name, _, title, summary = PAGES[(f + i) % len(PAGES)]
            path = f"/f{f}/a{i}"
            marker = f"<p>Edition {f}-{i}: " + " ".join(f"w{f}x{i}y{k}" for k in range(40)) + ".</p>"
            server.routes[path] = Served(templates[name].replace(b"</article>", marker.encode() + b"</article>", 1))
            items.append(f"<item><title>{title} ({f}-{i})</title><description>{summary}</description>"
                         f"<link>{server.base_url}{path}?utm_source=rss</link>"
                         f"<pubDate>Thu, 12 Jun 2025 {i % 24:02d}:00:00 GMT</pubDate></item>")
        server.routes[f"/f{f}.rss"] = Served(
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {f}</title>{''.join(items)}"
            f"</channel></rss>".encode(), content_type="application/rss+xml")
        urls.append(f"{server.base_url}/f{f}.rss")
    return urls


def declarations(path: Path, urls: list[str]) -> Path:
    lines = ["news:"]
    for n, url in enumerate(urls):
        lines += [f"  - id: bench/f{n}", "    kind: feed", f"    url: {url}", "    language: en",
                  f"    outlet: Outlet {n}", "    type: press"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def night(db: Path, news: Path, now: str) -> tuple[float, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update(POLICYWATCH_ALLOW_PRIVATE_ADDRESSES="true", POLICYWATCH_AUTOTHROTTLE="false")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), "--news", str(news), "news",
                             "--now", now], capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"policywatch news exited {result.returncode}:\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, result.stdout.splitlines()[0]


def whole_nights(feeds: int, per_feed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalServer() as server:
        news = declarations(Path(tmp) / "news.yaml", serve(server, feeds, per_feed))
        db = Path(tmp) / "bench.db"
        server.routes["/empty.rss"] = Served(b"<?xml version='1.0'?><rss version='2.0'><channel><title>Empty</title>"
                                             b"</channel></rss>", content_type="application/rss+xml")
        empty = declarations(Path(tmp) / "empty.yaml", [f"{server.base_url}/empty.rss"])
        baseline = night(Path(tmp) / "empty.db", empty, "2025-06-12T03:00:00Z")[0]
        for label, now in (("first night", "2025-06-12T03:00:00Z"), ("next day (one-day re-checks)",
                                                                     "2025-06-13T03:00:00Z")):
            hits = len(server.hits)
            cpu, wall, line = night(db, news, now)
            print(f"{label}: {cpu:.2f} s CPU, {wall:.2f} s wall, {len(server.hits) - hits} requests — {line}")
        with sqlite3.connect(db) as conn:
            kinds = conn.execute("select outcome, coalesce(failure_kind, ''), count(*) from news_article_fetches "
                                 "group by 1, 2 order by 1, 2").fetchall()
            clusters = conn.execute("select count(distinct cluster_id) from news_articles").fetchone()[0]
        print(f"{feeds} feeds, {feeds * per_feed} candidates; a night that reads one empty feed costs "
              f"{baseline:.2f} s CPU (start-up: Python, Scrapy, a new database)")
        print("article fetches over both nights: " + ", ".join(f"{o}{'/' + k if k else ''}: {n}" for o, k, n in kinds))
        print(f"syndication clusters: {clusters}; database: {db.stat().st_size / 1e6:.1f} MB")


def fetch(url: str) -> tuple[bytes, str, list[tuple[str, str]], str | None]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.url, list(response.headers.items()), response.headers.get_content_charset()


def building_blocks(feeds: int, per_feed: int) -> None:
    config = load_news()
    with LocalServer() as server:
        sources = [NewsSource(id=f"bench/f{n}", kind=NewsKind.FEED, language="en", outlet=f"Outlet {n}",
                              type=OutletType.PRESS, url=url) for n, url in enumerate(serve(server, feeds, per_feed))]
        cpu, wall = time.process_time(), time.perf_counter()
        budget, index = NightBudget(), SyndicationIndex()
        outcomes: Counter[str] = Counter()
        candidates = 0
        for source in sources:
            body, final, _, _ = fetch(source.url)  # type: ignore[arg-type]
            for candidate in budget.admit(discover(source, body, url=final)):
                candidates += 1
                if not screen(candidate, config).names_vendor:
                    outcomes["not fetched (no vendor in title or summary)"] += 1
                    continue
                page, final_url, headers, charset = fetch(candidate.url)
                outcome = process_page(candidate, page, final_url, config, headers=headers, encoding=charset)
                outcomes[outcome.kind] += 1
                if outcome.article is not None and outcome.identity is not None and outcome.kind == "kept":
                    index.add(outcome.identity.article_id, signature(outcome.article.text))
        clusters = index.clusters()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"building blocks only: {len(sources)} feeds, {candidates} candidates: {cpu:.2f} s CPU "
          f"({1000 * cpu / max(candidates, 1):.1f} ms per candidate, the local server's share included), {wall:.2f} s wall")
    print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print(f"syndication clusters among kept articles: {len(clusters)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-feed", type=int, default=10)
    parser.add_argument("--blocks", action="store_true", help="measure the building blocks alone instead")
    args = parser.parse_args()
    if args.blocks:
        building_blocks(args.feeds, args.per_feed)
    else:
        whole_nights(args.feeds, args.per_feed)


if __name__ == "__main__":
    main()
