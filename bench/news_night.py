"""CPU time of a news night's building blocks: 20 feeds and 200 candidate articles served on 127.0.0.1.

    python bench/news_night.py [--feeds 20] [--per-feed 10]

Serves ``feeds`` RSS feeds of ``per-feed`` items each from a local server;
the articles are the saved EN/DE/FR fixture pages, each served under its own
URL with its text varied so that no two are the same. For every feed: fetch,
discover, admit to the night's budget; for every candidate: screen on title
and summary, fetch (plain urllib, no politeness delays), ``process_page``,
and a MinHash signature into the syndication index for kept articles.
Prints the process's CPU time and the wall time, and what the night found.
Storage, Scrapy and the report are not part of this figure.
"""

from __future__ import annotations

import argparse
import sys
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


def fetch(url: str) -> tuple[bytes, str, list[tuple[str, str]], str | None]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.url, list(response.headers.items()), response.headers.get_content_charset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-feed", type=int, default=10)
    args = parser.parse_args()
    config = load_news()
    templates = {name: (ARTICLES / f"{name}.html").read_bytes() for name, *_ in PAGES}
    with LocalServer() as server:
        sources = []
        for f in range(args.feeds):
            items = []
            for i in range(args.per_feed):
                name, language, title, summary = PAGES[(f + i) % len(PAGES)]
                path = f"/f{f}/a{i}"
                marker = f"<p>Edition {f}-{i}: " + " ".join(f"w{f}x{i}y{k}" for k in range(40)) + ".</p>"
                server.routes[path] = Served(templates[name].replace(b"</article>", marker.encode() + b"</article>", 1))
                items.append(f"<item><title>{title} ({f}-{i})</title><description>{summary}</description>"
                             f"<link>{server.base_url}{path}?utm_source=rss</link>"
                             f"<pubDate>Thu, 12 Jun 2025 {i % 24:02d}:00:00 GMT</pubDate></item>")
            server.routes[f"/f{f}.rss"] = Served(
                f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {f}</title>{''.join(items)}"
                f"</channel></rss>".encode(), content_type="application/rss+xml")
            sources.append(NewsSource(id=f"bench/f{f}", kind=NewsKind.FEED, language="en", outlet=f"Outlet {f}",
                                      type=OutletType.PRESS, url=f"{server.base_url}/f{f}.rss"))
        cpu, wall = time.process_time(), time.perf_counter()
        budget = NightBudget()
        index = SyndicationIndex()
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
    print(f"{len(sources)} feeds, {candidates} candidates: {cpu:.2f} s CPU ({1000 * cpu / max(candidates, 1):.1f} ms "
          f"per candidate), {wall:.2f} s wall (the local server runs in this process)")
    print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print(f"syndication clusters among kept articles: {len(clusters)}")


if __name__ == "__main__":
    main()
