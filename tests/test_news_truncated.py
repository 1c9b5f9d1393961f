"""A news page cut short in transfer is a failed fetch, never an article: read as one, the partial page would be
the article, and the whole page, fetched later, the outlet's update."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import CLI
from news_site import STORIES, page_bytes, serve_newsroom, write_news_declarations
from policywatch.localserver import LocalServer, Page

STORY = next(s for s in STORIES if s.name == "de-fotos")


def test_an_article_cut_short_is_a_failed_fetch_and_the_whole_page_later_its_first_version(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_newsroom(server)
        whole = page_bytes(STORY.name, STORY.own_host, server.base_url)
        # The server announces the whole length and closes after 80 % of it, on every attempt.
        server.routes[STORY.path] = Page(whole, truncate_to=len(whole) * 4 // 5)
        cli = CLI(tmp_path / "policywatch.db", None, tmp_path, write_news_declarations(tmp_path / "news.yaml",
                                                                                      server.base_url))
        first = cli("news", "--now", "2025-06-12T10:00:00Z", check=False)

        def versions() -> list[int]:
            with sqlite3.connect(cli.db) as conn:
                return [row[0] for row in conn.execute(
                    "select v.number from news_article_versions v join news_articles a on a.id = v.article_id "
                    "where a.canonical_url like ?", (f"%{STORY.path}%",))]

        def fetches() -> list[tuple[str, str | None]]:
            with sqlite3.connect(cli.db) as conn:
                return conn.execute("select outcome, failure_kind from news_article_fetches where url like ? "
                                    "order by id", (f"%{STORY.path}%",)).fetchall()

        assert versions() == [], first.stdout
        assert fetches() == [("failed", "truncated")], first.stdout
        server.routes[STORY.path] = Page(whole)
        second = cli("news", "--now", "2025-06-13T10:00:00Z", check=False)
        assert versions() == [1], second.stdout
        assert fetches() == [("failed", "truncated"), ("first", None)]
        assert ", 0 new editions," in second.stdout, second.stdout
