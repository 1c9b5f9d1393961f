"""Bidirectional controls taken from the web (a right-to-left override reverses what a reader sees after it)
reach no HTML page and no feed raw: every one is shown as a visible `<U+XXXX>` marker. A hostile source title,
a flagged sentence and a news headline, in a site built from a real record on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.record import record_text
from reports.render import environment, render
from reports.site import build_site
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import SourceFields
from storage.news_record import (ArticleFields, EditionFacts, NewsSourceFields, PageFetch, record_article_fetch,
                                 upsert_article, upsert_news_source)
from storage.record import RawPage, start_run, upsert_source

CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
RAW = re.compile(f"[{CONTROLS}]")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TITLE = "Privacy \u202eyciloP\u202c Policy"
HEADLINE = "Vendor \u2067deletes\u2069 chats \u202e03 syad\u202c"
SENTENCE = "We may use your chats to train our models \u202edna lles meht\u202c."
FILLER = "".join(f"Section {n}: this paragraph about topic {n} does not change.\n\n" for n in range(12))


def hostile_record(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = session_factory(engine)
        with transaction(factory) as session:
            upsert_source(session, SourceFields(id="t/a", vendor="Testco", title=TITLE, document_type="Privacy Policy",
                                                language="en", urls=("http://127.0.0.1/a",)))
            run = start_run(session, "crawl", T0)
            for day, text in enumerate([f"We keep chats for 30 days.\n\n{FILLER}",
                                        f"We keep chats for 30 days.\n\n{SENTENCE}\n\n{FILLER}"]):
                record_text(session, run_id=run.id, source_id="t/a", at=T0 + timedelta(days=day),
                            pages=[RawPage("http://127.0.0.1/a", "http://127.0.0.1/a", 200, "text/html",
                                           text.encode())], text=text)
            upsert_news_source(session, NewsSourceFields(id="n/feed", kind="rss", language="en", outlet="Outlet",
                                                         outlet_type="press", url="http://127.0.0.1/feed"))
            at = T0 + timedelta(days=3)
            news = start_run(session, "news", at)
            article = "b" * 64
            body = "Testco changed its privacy policy to train on chats.\n"
            upsert_article(session, ArticleFields(id=article, canonical_url="http://127.0.0.1/story",
                                                  news_source_id="n/feed", outlet="Outlet", outlet_type="press",
                                                  title=HEADLINE), at=at, status="readable")
            record_article_fetch(session, run_id=news.id, at=at, article_id=article,
                                 fetch=PageFetch(url="http://127.0.0.1/story", reason="new", raw=body.encode()),
                                 edition=EditionFacts(sha256=hashlib.sha256(body.encode()).hexdigest(), text=body,
                                                      tdm_reserved=False, words=9, title=HEADLINE))
    finally:
        engine.dispose()


@pytest.mark.parametrize("control", list(CONTROLS))
def test_every_bidi_control_is_a_visible_marker_in_a_template(control: str) -> None:
    """Through the environment every template uses: as text, in an attribute, inside HTML already made."""
    from markupsafe import Markup

    page = render("base.html", root="", alternates=[{"href": f"x{control}.atom", "title": f"a{control}b",
                                                     "type": "application/atom+xml"}])
    assert control not in page
    marker = f"&lt;U+{ord(control):04X}&gt;"
    assert marker in page
    shown = environment().from_string("{{ made }}|{{ plain }}").render(made=Markup(f"<b>{control}</b>"),
                                                                      plain=control)
    assert shown == f"<b>{marker}</b>|{marker}"


def test_hostile_title_evidence_and_headline_show_no_raw_bidi_control(db_url: str, tmp_path: Path) -> None:
    hostile_record(db_url)
    engine = make_engine(db_url)
    try:
        build_site(session_factory(engine), tmp_path / "site", "https://watch.example.org/", workers=1)
    finally:
        engine.dispose()
    site = tmp_path / "site"
    published = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8")
                 for p in site.rglob("*") if p.suffix in (".html", ".atom", ".rss")}
    raw = sorted(name for name, text in published.items() if RAW.search(text))
    assert raw == []

    version = published["versions/t/a/2.html"]
    assert "Privacy &lt;U+202E&gt;yciloP&lt;U+202C&gt; Policy" in version  # the title, in <title> and <h1>
    assert re.search(r"<title>[^<]*Privacy &lt;U\+202E&gt;yciloP", version)
    change = published["changes/1.html"]
    assert "train our models &lt;U+202E&gt;dna lles meht&lt;U+202C&gt;" in change
    evidence = change[change.index('id="evidence-h"'):]
    assert "&lt;U+202E&gt;dna lles meht" in evidence  # the flagged sentence, quoted as evidence
    article = next(text for name, text in published.items() if name.startswith("coverage/") and "Outlet" in text
                   and "deletes" in text)
    assert "Vendor &lt;U+2067&gt;deletes&lt;U+2069&gt; chats &lt;U+202E&gt;03 syad&lt;U+202C&gt;" in article
    feed = published["feeds/changes.atom"]
    assert "Privacy &lt;U+202E&gt;yciloP" in feed  # an entry's title, plain text in the feed
