"""A news night reads its articles for mentions of the declared claims: a claims file that does not load stops
`policywatch news` before it records anything, as it stops `crawl` and `import`. A night that went on without
the claims would store articles never read for mentions, and nothing would read them later."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import CLI
from news_site import serve_newsroom, write_news_declarations
from policywatch.localserver import LocalServer

BROKEN = """\
claims:
  - id: openai/temporary-chats-deleted
    vendor: OpenAI
    statement: {en: "Temporary chats are deleted after 30 days."}
    topics: [retention]
    supports:
      - patterns: ['temporary chats (are deleted']
"""


def test_news_with_a_claims_file_that_does_not_load_records_nothing_and_names_the_file(tmp_path: Path) -> None:
    claims = tmp_path / "claims.yaml"
    claims.write_text(BROKEN, encoding="utf-8")
    with LocalServer() as server:
        serve_newsroom(server)
        cli = CLI(tmp_path / "policywatch.db", None, tmp_path, write_news_declarations(tmp_path / "news.yaml",
                                                                                      server.base_url))
        out = cli("--claims", str(claims), "news", "--now", "2025-06-12T10:00:00Z", check=False)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "claims.yaml" in out.stderr and "openai/temporary-chats-deleted" in out.stderr, out.stderr
        assert not [h for h in server.hits if not h.startswith("/robots.txt")], "nothing fetched"
    if cli.db.exists():
        with sqlite3.connect(cli.db) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            if "runs" in tables:
                assert conn.execute("select count(*) from runs").fetchone() == (0,)
            if "news_article_fetches" in tables:
                assert conn.execute("select count(*) from news_article_fetches").fetchone() == (0,)
