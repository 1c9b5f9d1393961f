"""The news night end to end: `policywatch news` (the real Scrapy spider) over a newsroom served on 127.0.0.1,
into a real SQLite file, over several nights; then what the commands show of it."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import feedparser
import pytest

from conftest import CLI
from news_site import ARTICLES, STORIES, page_bytes, serve_newsroom, write_news_declarations
from policywatch.localserver import LocalServer, Page
from storage import blobs
from storage.db import make_engine, session_factory

NIGHTS = ("2025-06-12T10:00:00Z", "2025-06-13T10:00:00Z", "2025-06-14T10:00:00Z", "2025-07-15T10:00:00Z")
STORY = {s.name: s for s in STORIES}
OFF_TOPIC_SENTENCE = "Shop owners on the road had asked for delivery bays to be kept"
HOSTILE_TITLE = "OpenAI \"keeps\" chats < 30 days & <more>"


@dataclass
class Newsroom:
    server: LocalServer
    cli: CLI
    outputs: list[Any] = field(default_factory=list)  # CompletedProcess of each night
    hits: list[list[str]] = field(default_factory=list)  # paths requested in each night

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.cli.db) as conn:
            return conn.execute(sql, params).fetchall()

    def article_id(self, name: str) -> str:
        path = STORY[name].path
        (found,) = self.rows("select id from news_articles where canonical_url like ?", f"%{path}")
        return str(found[0])


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    tmp = tmp_path_factory.mktemp("newsroom")
    with LocalServer() as server:
        serve_newsroom(server)
        base = server.base_url
        # A walled page whose feed title carries markup: the feed's title is all that is known of it.
        server.routes["/digital/hostile"] = Page(page_bytes("de-paywall", "www.wochenblatt.example", base)
                                                 .replace(b"/digital/openai-trainingsdaten-chats", b"/digital/hostile"))
        feed = server.routes["/feed.rss"].body  # type: ignore[union-attr]
        hostile = (f"<item><title>{HOSTILE_TITLE.replace('&', '&amp;').replace('<', '&lt;')}</title>"
                   f"<link>{base}/digital/hostile</link></item>").encode()
        server.routes["/feed.rss"] = Page(feed.replace(b"</channel>", hostile + b"</channel>"),
                                          content_type="application/rss+xml")
        news = write_news_declarations(tmp / "news.yaml", base)
        room = Newsroom(server, CLI(tmp / "policywatch.db", None, tmp, news))
        for number, now in enumerate(NIGHTS):
            if number == 1:  # the German article is corrected in the next edition
                story = STORY["de-fotos"]
                server.routes[story.path] = Page(page_bytes("de-fotos-korrektur", story.own_host, base))
            before = len(server.hits)
            room.outputs.append(room.cli("news", "--now", now))
            room.hits.append([h.split("?")[0] for h in server.hits[before:]])
        yield room


def test_the_first_night_keeps_the_articles_and_not_the_off_topic_page(newsroom: Newsroom) -> None:
    out = newsroom.outputs[0].stdout
    assert out.startswith("news run 1 (ok): 1 news source read, 8 new articles, 0 new editions"), out
    hits = newsroom.hits[0]
    assert "/local/library" not in hits, "an item naming no vendor is never fetched"
    assert hits.count("/robots.txt") == 1 and hits.count("/.well-known/tdmrep.json") == 1
    readable = newsroom.rows("select canonical_url from news_articles where status = 'readable'")
    assert sorted(url.split("/", 3)[3] for (url,) in readable) == sorted(
        STORY[n].path.lstrip("/") for n in ("en-temporary-chats", "en-temporary-chats.syndicated", "de-fotos",
                                            "fr-historique", "en-tdm-reserved"))
    # The off-topic page was fetched and read, and nothing of it is kept: no article, no text, no raw page,
    # not even what the feed said of it.
    off_topic = STORY["en-offtopic"].path
    assert off_topic in hits and f"off topic        {newsroom.server.base_url}{off_topic}" in out
    assert newsroom.rows("select count(*) from news_articles where canonical_url like ?", f"%{off_topic}") == [(0,)]
    assert newsroom.rows("select decision, title, summary from news_discoveries where url like ?",
                         f"%{off_topic}") == [("off_topic", None, None)]
    assert newsroom.rows("select outcome, article_id, raw_sha256 from news_article_fetches where url like ?",
                         f"%{off_topic}") == [("off_topic", None, None)]
    engine = make_engine(f"sqlite:///{newsroom.cli.db}")
    with session_factory(engine)() as session:
        raws = [blobs.read(session, sha) for (sha,) in newsroom.rows("select sha256 from blobs")]
    engine.dispose()
    assert raws and not any(OFF_TOPIC_SENTENCE.encode() in raw for raw in raws)
    texts = [t for (t,) in newsroom.rows("select text from news_article_versions where text is not null")]
    assert texts and not any(OFF_TOPIC_SENTENCE in t for t in texts)


def test_walls_are_failed_fetches_of_their_own_kinds_and_keep_what_the_feed_said(newsroom: Newsroom) -> None:
    rows = newsroom.rows("select a.canonical_url, a.status, a.title, a.language, f.outcome, f.failure_kind "
                         "from news_articles a join news_article_fetches f on f.article_id = a.id "
                         "where a.status != 'readable' and f.run_id = 1 order by a.canonical_url")
    found = {url.split("/", 3)[3]: rest for url, *rest in rows}
    assert found[STORY["de-paywall"].path.lstrip("/")] == ["paywall", "OpenAI und die Trainingsdaten", "de",
                                                            "failed", "paywall"]
    assert found[STORY["fr-consent-wall"].path.lstrip("/")] == ["consent_wall", "ChatGPT : la CNIL ouvre une procédure",
                                                                 "fr", "failed", "consent_wall"]
    assert newsroom.rows("select count(*) from news_article_versions v join news_articles a on a.id = v.article_id "
                         "where a.status in ('paywall', 'consent_wall')") == [(0,)], "a wall is never a version"
    assert "not readable     " in newsroom.outputs[0].stdout and "(paywall: schema.org" in newsroom.outputs[0].stdout


def test_a_tdm_reserved_article_keeps_its_quotable_sentences_and_no_text_or_raw_bytes(newsroom: Newsroom) -> None:
    article = newsroom.article_id("en-tdm-reserved")
    versions = newsroom.rows("select text, tdm_reserved, words, sha256, evidence from news_article_versions "
                             "where article_id = ?", article)
    assert len(versions) == 1
    text, reserved, words, sha, evidence = versions[0]
    assert text is None and reserved == 1 and words > 100 and len(sha) == 64
    assert "privacy portal" in evidence, "the matched sentences are kept"
    assert newsroom.rows("select raw_sha256 from news_article_fetches where article_id = ?", article) == \
        [(None,)] * len(newsroom.rows("select 1 from news_article_fetches where article_id = ?", article))
    assert newsroom.rows("select tdm_reserved from news_articles where id = ?", article) == [(1,)]
    # Every other readable article keeps its text and raw page.
    assert newsroom.rows("select count(*) from news_article_versions where text is null") == [(1,)]


def test_the_syndicated_twin_shares_a_cluster_and_keeps_its_own_identity(newsroom: Newsroom) -> None:
    original, copy = newsroom.article_id("en-temporary-chats"), newsroom.article_id("en-temporary-chats.syndicated")
    assert original != copy
    clusters = newsroom.rows("select id, cluster_id, cluster_similarity, canonical_elsewhere from news_articles "
                             "where id in (?, ?)", original, copy)
    assert len({c for _, c, _, _ in clusters}) == 1 and clusters[0][1] is not None
    joined = [row for row in clusters if row[2] is not None]
    assert len(joined) == 1 and joined[0][2] >= 0.8
    elsewhere = {i: e for i, _, _, e in clusters}
    assert elsewhere[copy] == "https://www.eveningledger.example/technology/2025/jun/12/chatgpt-temporary-chats-30-days"
    assert newsroom.rows("select count(*) from news_articles where cluster_id is not null") == [(2,)]


def test_one_article_under_many_urls(newsroom: Newsroom) -> None:
    article = newsroom.article_id("en-temporary-chats")
    base = newsroom.server.base_url
    aliases = {url for (url,) in newsroom.rows("select url from news_article_aliases where article_id = ?", article)}
    story = STORY["en-temporary-chats"]
    assert base + "/go/chats" in aliases and base + story.path + "/amp" in aliases
    assert not any("utm_" in url for url in aliases), "tracking parameters are never part of a URL kept"
    # The AMP edition and the redirecting feed link are the same article: one version, confirmed.
    assert newsroom.rows("select count(*), min(outcome), max(outcome) from news_article_fetches "
                         "where article_id = ? and run_id = 1", article) == [(2, "first", "unchanged")]


def test_known_articles_are_fetched_again_after_one_seven_and_thirty_days(newsroom: Newsroom) -> None:
    first, second, third, fourth = newsroom.hits
    article_paths = {s.path for s in STORIES if s.name not in ("en-offtopic", "en-temporary-chats.amp")}
    assert article_paths <= set(second), "every recorded article (walled ones too) is checked after a day"
    assert STORY["en-offtopic"].path not in second, "a page found off topic is not fetched again"
    assert "/go/chats" not in second, "a feed item naming a known article is not fetched as new"
    assert not article_paths & set(third), "nothing is due two days after"
    assert article_paths <= set(fourth), "the week's check, made late, is made once"
    schedule = newsroom.rows("select checks_done, next_check from news_articles where status = 'readable'")
    assert set(schedule) == {(2, None)}, "the month's check was already past: the schedule is done"
    assert "news run 3 (ok): 1 news source read, 0 new articles, 0 new editions, 0 articles checked again" in \
        newsroom.outputs[2].stdout


def test_a_corrected_edition_is_a_new_version_marked_as_a_correction(newsroom: Newsroom) -> None:
    article = newsroom.article_id("de-fotos")
    versions = newsroom.rows("select number, is_correction, words_added, words_removed, corrections, first_seen "
                             "from news_article_versions where article_id = ? order by number", article)
    assert [(n, c) for n, c, *_ in versions] == [(1, 0), (2, 1)]
    _, _, added, removed, notices, seen = versions[1]
    assert added > 0 and removed > 0 and "Korrektur (11.06.2025)" in notices
    assert seen.startswith("2025-06-13 10:00:00")
    assert "new edition      " in newsroom.outputs[1].stdout and "[v2: a correction, +" in newsroom.outputs[1].stdout
    others = newsroom.rows("select count(*) from news_article_versions where number > 1")
    assert others == [(1,)], "the other articles did not change: confirmed, not versioned"


def test_the_articles_and_article_commands(newsroom: Newsroom) -> None:
    cli = newsroom.cli
    listed = cli.json("articles")
    assert len(listed) == 8
    assert [a["published"][:10] for a in listed if a["published"]] == sorted(
        (a["published"][:10] for a in listed if a["published"]), reverse=True), "newest first"
    german = cli.json("articles", "--language", "de")
    assert {a["title"] for a in german} >= {"Was ChatGPT mit hochgeladenen Fotos macht", "OpenAI und die Trainingsdaten"}
    assert all(a["language"] == "de" for a in german)
    sensitive = cli.json("articles", "--flag", "sensitive")
    assert sensitive and all("sensitive" in a["flags"] for a in sensitive)
    corrected = next(a for a in listed if a["corrections"])
    assert corrected["title"] == "Was ChatGPT mit hochgeladenen Fotos macht" and corrected["versions"] == 2
    assert cli.json("articles", "--outlet", "nobody") == []

    text = cli("article", corrected["id"][:8]).stdout
    assert text.startswith(corrected["id"] + "\nWas ChatGPT mit hochgeladenen Fotos macht\n")
    assert "  v2  2025-06-13T10:00:00Z" in text and "correction" in text and "“Korrektur (11.06.2025): In einer früheren Fassung" in text
    assert "flagged sentences (v2):" in text
    detail = cli.json("article", corrected["id"])
    assert [v["number"] for v in detail["versions"]] == [1, 2] and detail["versions"][1]["is_correction"]
    quoted = [q["sentence"] for v in detail["versions"] for q in v["quotes"]]
    assert quoted and all(len(q) <= 330 for q in quoted)
    assert "text" not in detail and not any("text" in v for v in detail["versions"])

    reserved = next(a for a in listed if a["tdm_reserved"])
    shown = cli("article", reserved["id"]).stdout
    assert "only the flagged sentences are kept" in shown and "text not kept: TDM reservation" in shown

    copy = cli("article", newsroom.article_id("en-temporary-chats.syndicated")).stdout
    assert "syndicated copies:" in copy and "similarity" not in copy.split("syndicated copies:")[0]


@pytest.mark.parametrize("args, message", [
    (("article", "zz"), "'zz' is not an article id"),
    (("article", "0000000"), "no article id starts with '0000000'"),
    (("news", "--only", "nobody/feed"), "unknown news source id(s): nobody/feed"),
])
def test_wrong_references_are_one_line_errors(newsroom: Newsroom, args: tuple[str, ...], message: str) -> None:
    result = newsroom.cli(*args, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().startswith("policywatch: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_record_passes_the_integrity_check(newsroom: Newsroom) -> None:
    checked = newsroom.cli("check").stdout
    assert checked.startswith("ok: 0 problem(s)") and "8 news_articles, 6 news_article_versions" in checked


# ----------------------------------------------------------------- what the site and the feeds publish

GOLDEN = ARTICLES.parent / "golden"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= 6]


@pytest.fixture(scope="module")
def site(newsroom: Newsroom) -> Path:
    out = newsroom.cli.cwd / "site"
    newsroom.cli("report", "--out", str(out), "--base-url", "https://example.org/pw/")
    return out


def _page(site: Path, newsroom: Newsroom, name: str) -> str:
    return (site / "coverage" / f"{newsroom.article_id(name)}.html").read_text(encoding="utf-8")


def test_the_coverage_index_lists_every_article_newest_first_with_what_the_filters_need(site: Path,
                                                                                        newsroom: Newsroom) -> None:
    index = (site / "coverage" / "index.html").read_text(encoding="utf-8")
    items = re.findall(r'<li data-language="([^"]*)" data-outlet="([^"]*)" data-vendor="([^"]*)" data-flag="([^"]*)"',
                       index)
    assert len(items) == 8
    assert {language for language, *_ in items} == {"en", "de", "fr"}
    assert all(vendor == "OpenAI" for _, _, vendor, _ in items)
    assert '<select name="flag">' in index and '<script src="../static/coverage.js"></script>' in index
    assert (site / "static" / "coverage.js").is_file()
    assert "Coverage</a>" in (site / "index.html").read_text(encoding="utf-8")
    # What the feed said of a walled article is web text: escaped, its markup gone.
    assert "OpenAI &#34;keeps&#34; chats &lt; 30 days &amp;" in index and "<more>" not in index


def test_article_pages_quote_flagged_sentences_never_the_text(site: Path, newsroom: Newsroom) -> None:
    for name in ("en-tdm-reserved", "en-temporary-chats", "de-fotos-korrektur", "fr-historique"):
        golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
        page = html.unescape(re.sub(r"<[^>]+>", "", _page(site, newsroom, name.replace("-korrektur", ""))))
        notices = " ".join(c["notice"] for c in golden["corrections"])
        shown = [s for s in _sentences(golden["text"]) if s in page and s not in notices]
        assert 1 <= len(shown) <= 5, name
        assert sum(len(s.split()) for s in shown) <= golden["words"] / 3 + 1, name
    reserved = _page(site, newsroom, "en-tdm-reserved")
    assert "reserves text and data mining" in reserved and "<mark>" in reserved
    assert "Privacy advocates welcomed the single entry point" not in reserved


def test_article_pages_show_versions_corrections_copies_and_walls(site: Path, newsroom: Newsroom) -> None:
    corrected = _page(site, newsroom, "de-fotos")
    assert '<span class="badge">correction</span>' in corrected and "<br>“Korrektur (11.06.2025): In einer" in corrected
    assert "<th scope=\"row\">v2</th>" in corrected
    original = _page(site, newsroom, "en-temporary-chats")
    copy_page = f'href="../coverage/{newsroom.article_id("en-temporary-chats.syndicated")}.html"'
    assert "Syndicated copies" in original and copy_page in original
    assert "behind a paywall" in _page(site, newsroom, "de-paywall")
    assert 'rel="noopener noreferrer nofollow"' in original


def test_the_coverage_feed_announces_each_article_once_under_a_stable_id(site: Path, newsroom: Newsroom) -> None:
    atom = feedparser.parse((site / "feeds" / "coverage.atom").read_bytes())
    rss = feedparser.parse((site / "feeds" / "coverage.rss").read_bytes())
    assert not atom.bozo and not rss.bozo
    ids = [e.id for e in atom.entries]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert set(ids) == {f"tag:policywatch,2026:article/{aid}" for (aid,) in newsroom.rows("select id from news_articles")}
    assert [e.id for e in rss.entries] == ids
    assert all(e.link.startswith("https://example.org/pw/coverage/") for e in atom.entries)
    reserved = next(e for e in atom.entries if e.id.endswith(newsroom.article_id("en-tdm-reserved")))
    content = reserved.content[0].value
    assert "Privacy advocates welcomed" not in content and "privacy portal" in content
    before = (site / "feeds" / "coverage.atom").read_bytes()
    pages = {p: p.stat().st_mtime_ns for p in (site / "coverage").iterdir()}
    newsroom.cli("report", "--out", str(site), "--base-url", "https://example.org/pw/")
    assert (site / "feeds" / "coverage.atom").read_bytes() == before, "a rebuild gives the same feed"
    assert {p: p.stat().st_mtime_ns for p in (site / "coverage").iterdir()} == pages, "nothing is rewritten"
    newsroom.cli("report", "--out", str(site), "--base-url", "https://example.org/pw/", "--full")
    assert (site / "feeds" / "coverage.atom").read_bytes() == before
