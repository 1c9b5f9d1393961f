"""Atom and RSS feeds, read back with feedparser, from a record made by real crawls."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import feedparser
import pytest

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page
from reports.site import build_site
from storage.db import make_engine, session_factory

BASE = "https://watch.example.org/pw/"


def page(*paragraphs: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><body><main><h1>Policy</h1>{body}</main></body></html>".encode()


INTRO = "This policy explains how we handle personal data."
POLICY = {
    1: page(INTRO, "We keep chats for 30 days.", "We do not sell personal data."),
    2: page(INTRO, "We keep chats for 90 days.", "We do not sell personal data."),
    3: page(INTRO, "We keep chats for 30 days.", "We do not sell personal data."),  # a revert to day 1
    4: page(INTRO, "We keep chats for 30 days.", "We share personal data with our partners."),
    5: page(INTRO, "We keep chats for 60 days.", "We share personal data with our partners."),
}
TERMS = {1: page("You own your content."), 2: page("You own your content.", "We may train on your content.")}
FAQ = {1: page("Question one."), 2: page("Question one, reworded."), 3: page("Question one, reworded again.")}


class Record:
    def __init__(self, root: Path, server: LocalServer):
        self.root, self.server = root, server
        decl = write_declarations(root / "sources.yaml", server.base_url, [
            {"id": "t/policy", "vendor": "OpenAI", "title": "Privacy Policy (EU)", "urls": ["/policy"], "select": "main"},
            {"id": "t/terms", "vendor": "OpenAI", "title": "Terms", "urls": ["/terms"], "select": "main"},
            {"id": "t/faq", "vendor": "OpenAI", "title": "FAQ", "urls": ["/faq"], "select": "main"},
        ])
        self.cli = CLI(root / "policywatch.db", decl, root)

    def crawl(self, day: int) -> None:
        self.server.routes.update({"/policy": Page(POLICY[day]), "/terms": Page(TERMS[min(day, 2)]),
                                   "/faq": Page(FAQ[min(day, 3)])})
        self.cli("crawl", "--now", f"2026-04-0{day}T06:00:00Z")

    def sql(self, statement: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.cli.db) as conn:
            return conn.execute(statement, args).fetchall()

    def build(self, out: Path, full: bool = False, base_url: str | None = BASE) -> None:
        engine = make_engine(f"sqlite:///{self.cli.db}")
        try:
            build_site(session_factory(engine), out, base_url, full=full)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    with LocalServer() as server:
        made = Record(tmp_path_factory.mktemp("feeds"), server)
        for day in (1, 2, 3, 4):
            made.crawl(day)
        # Whatever the flagger found, the terms change is flagged with a known
        # summary; and what a re-extraction and a formatting-only edit would
        # have recorded.
        made.sql("update changes set flags=?, announced_flags=?, severity='high', summary=? where source_id='t/terms'",
                 '["training"]', '["training"]', "The terms now allow training on your content.")
        made.sql("update changes set kind='technical', announced=0, announced_flags='[]' where source_id='t/faq' and "
                 "to_version_id=(select id from versions where source_id='t/faq' and number=2)")
        made.sql("update changes set kind='formatting', announced=0, announced_flags='[]' where source_id='t/faq' and "
                 "to_version_id=(select id from versions where source_id='t/faq' and number=3)")
        yield made


def read(path: Path) -> Any:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def expected_entries(record: Record, source: str | None = None, flagged: bool = False) -> list[dict[str, str]]:
    rows = record.sql("""
        select c.id, c.source_id, s.vendor, s.title, v.number, c.words_added, c.words_removed, c.severity,
               c.summary, c.flags != '[]'
        from changes c join sources s on s.id = c.source_id join versions v on v.id = c.to_version_id
        where c.kind not in ('technical', 'revert', 'formatting') and (? is null or c.source_id = ?)
          and (? = 0 or c.flags != '[]')
        order by c.detected_at desc, c.id desc""", source, source, int(flagged))
    # What changed: the summary, else the size; the severity when flagged.
    return [{"id": f"tag:policywatch,2026:change/{sid}/{number}",
             "title": f"{vendor} — {title}: "
                      f"{summary or f'{added} word' + ('s' if added != 1 else '') + f' added, {removed} removed'}"
                      f"{f' [{severity}]' if has_flags else ''}",
             "link": f"{BASE}changes/{cid}.html"}
            for cid, sid, vendor, title, number, added, removed, severity, summary, has_flags in rows]


def entries(parsed: Any) -> list[dict[str, str]]:
    return [{"id": e.id, "title": e.title, "link": e.link} for e in parsed.entries]


def test_feeds_parse_with_the_announced_changes_titles_links_and_ids(record: Record, tmp_path: Path) -> None:
    out = tmp_path / "site"
    record.build(out)
    kinds = dict(record.sql("select kind, count(*) from changes group by kind"))
    assert kinds == {"substantive": 3, "revert": 1, "technical": 1, "formatting": 1}
    for fmt in ("atom", "rss"):
        changes = read(out / f"feeds/changes.{fmt}")
        assert entries(changes) == expected_entries(record)
        assert len(changes.entries) == 3, "the revert, the technical and the formatting change stay out"
        assert changes.feed.link == BASE + "index.html"
        flagged = read(out / f"feeds/flagged.{fmt}")
        assert entries(flagged) == expected_entries(record, flagged=True)
        assert "OpenAI — Terms: The terms now allow training on your content. [high]" in \
            [e.title for e in flagged.entries]
        assert all(re.fullmatch(r"OpenAI — [^:]+: .+ \[(high|medium|low)\]", e.title) for e in flagged.entries)
        for source, count in (("t/policy", 2), ("t/terms", 1), ("t/faq", 0)):
            per_source = read(out / f"feeds/sources/{source}.{fmt}")
            assert entries(per_source) == expected_entries(record, source)
            assert len(per_source.entries) == count
    policy = read(out / "feeds/sources/t/policy.atom")
    assert policy.entries[-1].title == "OpenAI — Privacy Policy (EU): retention: chats 30 days → 90 days [high]"


def test_entry_content_quotes_the_changed_sentences_as_escaped_html(record: Record, tmp_path: Path) -> None:
    out = tmp_path / "site"
    record.build(out)
    atom = read(out / "feeds/changes.atom")
    # Changes recorded at the same time are ordered by id, which follows the order the crawl finished them in.
    first_change = [e for e in atom.entries if e.title.startswith("OpenAI — Privacy Policy (EU)")][-1]
    assert first_change.content[0].type == "text/html"
    html = first_change.content[0].value
    assert re.search(r"<li>We keep chats for <ins>90 ?</ins> ?days.</li>", html)
    assert re.search(r"<li>We keep chats for <del>30 ?</del> ?days.</li>", html)
    assert f'<a href="{first_change.link}">' in html
    terms, = [e for e in read(out / "feeds/flagged.rss").entries if "Terms" in e.title]
    assert "<p>The terms now allow training on your content.</p>" in terms.description
    assert "<ins>We may train on your content.</ins>" in terms.description
    raw = (out / "feeds/changes.rss").read_text(encoding="utf-8")
    assert "<![CDATA[" not in raw and re.search("&lt;ins&gt;90 ?&lt;/ins&gt;", raw)


def test_ids_and_bytes_survive_full_and_incremental_rebuilds(record: Record, tmp_path: Path) -> None:
    out = tmp_path / "site"
    record.build(out)
    # The claims feeds have their own tests (test_claims_report.py).
    feeds = sorted(p.relative_to(out) for p in (out / "feeds").rglob("*")
                   if p.is_file() and p.relative_to(out).parts[1] not in ("claims", "claims.atom", "claims.rss"))
    assert len(feeds) == 4 + 2 + 2 + 6  # changes, flagged, health, coverage; three sources
    before = {p: (out / p).read_bytes() for p in feeds}
    ids = {p: [e.id for e in read(out / p).entries] for p in feeds}

    record.build(out, full=True)
    assert {p: (out / p).read_bytes() for p in feeds} == before, "a rebuild must not change a feed"

    record.crawl(5)
    record.build(out)
    after = {p: [e.id for e in read(out / p).entries] for p in feeds}
    new_id = "tag:policywatch,2026:change/t/policy/5"
    gaining = {"feeds/changes.atom", "feeds/changes.rss", "feeds/sources/t/policy.atom", "feeds/sources/t/policy.rss"}
    if record.sql("select flags from changes order by id desc limit 1")[0][0] != "[]":
        gaining |= {"feeds/flagged.atom", "feeds/flagged.rss"}
    for p in feeds:
        if str(p) in gaining:
            assert after[p] == [new_id] + ids[p]
        else:
            assert after[p] == ids[p]
            assert (out / p).read_bytes() == before[p], f"{p} was rewritten though nothing in it changed"

    full = tmp_path / "full"
    record.build(full, full=True)
    for p in feeds:
        assert (full / p).read_bytes() == (out / p).read_bytes()


def test_without_base_url_feed_links_are_file_urls_of_the_site(record: Record, tmp_path: Path) -> None:
    out = tmp_path / "site"
    record.build(out, base_url=None)
    assert read(out / "feeds/changes.atom").entries
    # feedparser rewrites file:/// as file://, so the links are read from the XML itself.
    atom = "{http://www.w3.org/2005/Atom}"
    links = [link.get("href") for link in ElementTree.parse(out / "feeds/changes.atom").iter(f"{atom}link")]
    assert links[:2] == [out.resolve().as_uri() + "/feeds/changes.atom", out.resolve().as_uri() + "/index.html"]
    entry_links = links[2:]
    assert entry_links and all(link.startswith(out.resolve().as_uri() + "/changes/") for link in entry_links)
    assert all(Path(link[len("file://"):]).is_file() for link in entry_links)


def test_a_feed_without_entries_is_dated_when_its_record_began(record: Record, tmp_path: Path) -> None:
    from reports import urls

    out = tmp_path / "site"
    record.build(out)
    began = "2026-04-01T06:00:00Z"  # the first crawl: the FAQ's first version, and the record's first run
    # The FAQ's changes are a re-extraction and a formatting edit, never announced; nothing failed; no articles.
    for feed in (urls.source_feed("t/faq", "atom"), "feeds/health.atom", "feeds/coverage.atom"):
        parsed = read(out / feed)
        assert parsed.entries == [], feed
        assert utc(parsed) == began, feed
        assert utc(read(out / feed.replace(".atom", ".rss"))) == began, feed
    # A feed with entries is dated by its newest one, as before.
    changes = read(out / "feeds" / "changes.atom")
    assert changes.entries and changes.feed.updated_parsed == max(e.updated_parsed for e in changes.entries)


def utc(parsed: Any) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed.feed.updated_parsed)


def test_the_record_began_with_its_first_run_however_few_recent_runs_are_read(record: Record) -> None:
    # The site reads the recent runs only (30 by default): the record's first run is looked up on its own,
    # or empty feeds would be dated later every night once there are more runs than that.
    from datetime import datetime, timezone

    from reports.data import load_record
    from storage.db import reading

    engine = make_engine(f"sqlite:///{record.cli.db}")
    try:
        with reading(session_factory(engine)) as session:
            loaded = load_record(session, recent_runs=1)
    finally:
        engine.dispose()
    assert len(loaded.runs) == 1 and loaded.runs[0].started_at > datetime(2026, 4, 1, 6, tzinfo=timezone.utc)
    assert loaded.began == datetime(2026, 4, 1, 6, tzinfo=timezone.utc)
