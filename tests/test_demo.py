"""`policywatch demo`: the offline demonstration, end to end, as `make demo` runs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp_path = tmp_path_factory.mktemp("demo")
    out = subprocess.run([sys.executable, "-m", "policywatch", "demo", "--dir", str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return out, tmp_path


def test_demo_shows_histories_and_the_retention_diff(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out, tmp_path = demo
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "nimbus/privacy-policy: Nimbus AI" in text and "nimbus/help-chat-retention: Nimbus AI" in text
    assert "[-30-]" in text and "{+90+}" in text, "the retention diff is printed (plain when piped)"
    db = tmp_path / "demo" / "policywatch.db"
    with sqlite3.connect(db) as conn:
        per_source = dict(conn.execute("select source_id, count(*) from versions group by source_id"))
        failures = conn.execute("select count(*) from fetch_outcomes where outcome='failed'").fetchone()[0]
        day2 = conn.execute("select outcome from fetch_outcomes where at like '2026-01-02%'").fetchall()
    # edition 2 is markup only: no version; 3 changes the help article; 4 the privacy policy
    assert per_source == {"nimbus/privacy-policy": 2, "nimbus/help-chat-retention": 2}
    assert failures == 0
    assert [o for (o,) in day2] == ["unchanged", "unchanged"]
    assert "[high] retention: 30 days → 90 days" in text, "the terminal shows the flag with both durations"
    site = tmp_path / "demo" / "site"
    assert "report:" in text and (site / "index.html").is_file()
    flagged = feedparser.parse((site / "feeds" / "flagged.atom").read_bytes())
    assert not flagged.bozo
    retention = [e for e in flagged.entries if "how long are my chats kept" in e.title]
    assert len(retention) == 1 and retention[0].title.startswith(
        "Nimbus AI — Help: how long are my chats kept? retention: 30 days → 90 days") and \
        retention[0].title.endswith(" [high]"), "the title says what changed, and how much it matters"
    assert "retention: 30 days → 90 days" in retention[0].content[0].value
    change_pages = [p.read_text(encoding="utf-8") for p in (site / "changes").glob("*.html")]
    assert any("retention: 30 days → 90 days" in page for page in change_pages)
    claims_at = text.index("=== claims about Nimbus AI")
    assert claims_at > text.index("{+90+}"), "the claims come after the diff"
    claims = text[claims_at:]
    weakened = ("claims: nimbus/temporary-chats-deleted-after-30-days: supported → weakened "
                "(nimbus/help-chat-retention v2, 2026-01-03T06:00:00Z)\n"
                "  was: “We keep a copy for up to 30 days to monitor for abuse, then delete it.”\n")
    assert weakened in claims
    assert "nimbus/temporary-chats-deleted-after-30-days  (Nimbus AI; retention, controls)\n" \
           "  weakened since 2026-01-03T06:00:00Z\n" in claims
    assert claims.count("  supported since 2026-01-01T06:00:00Z\n") == 3, "the other claims stay supported"
    feed = feedparser.parse((site / "feeds" / "claims.atom").read_bytes())
    assert not feed.bozo
    assert [e.id for e in feed.entries] == [
        "tag:policywatch,2026:claim/nimbus/temporary-chats-deleted-after-30-days/weakened/20260103T060000Z/"
        "nimbus/help-chat-retention/2"], "exactly the weakening, announced once"
    page = (site / "claims" / "nimbus" / "temporary-chats-deleted-after-30-days.html").read_text(encoding="utf-8")
    assert "<mark>We keep a copy for up to 90 days</mark>" in page


def test_demo_reads_the_press_after_the_policies(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out, tmp_path = demo
    assert out.returncode == 0, out.stderr
    text = out.stdout
    press = text[text.index("=== the press, read after the policies each night"):]
    assert "off topic        " in press and "nimbus-ai-lisbon-office" in press
    assert "new edition      " in press and "[v2: a correction, +" in press
    assert "syndicated copy (cluster 1, similarity 0." in press
    db = tmp_path / "demo" / "policywatch.db"
    with sqlite3.connect(db) as conn:
        articles = dict(conn.execute("select language, count(*) from news_articles group by language"))
        office = conn.execute("select count(*) from news_articles where canonical_url like '%lisbon%'").fetchone()[0]
        corrected = conn.execute("select a.language, v.number from news_article_versions v join news_articles a "
                                 "on a.id = v.article_id where v.is_correction").fetchall()
        clustered = conn.execute("select outlet from news_articles where cluster_id is not null order by outlet").fetchall()
        german = conn.execute("select v.evidence from news_article_versions v join news_articles a on a.id = v.article_id "
                              "where a.language = 'de'").fetchone()[0]
    assert articles == {"en": 2, "de": 1, "fr": 1} and office == 0, "the off-topic article is not kept"
    assert corrected == [("fr", 2)]
    assert clustered == [("Privacy Desk Europe",), ("The Harbour Times",)]
    sentences = [e["sentence"] for e in json.loads(german)]
    assert "Nach Angaben des Unternehmens werden temporäre Chats nach 30 Tagen gelöscht." in sentences, \
        "the German article's stale claim is a flagged sentence"
    site = tmp_path / "demo" / "site"
    coverage = feedparser.parse((site / "feeds" / "coverage.atom").read_bytes())
    assert not coverage.bozo and len(coverage.entries) == 4
    index = (site / "coverage" / "index.html").read_text(encoding="utf-8")
    assert index.count("1 syndicated copy<") == 2, "each of the two clustered articles has one copy elsewhere"
    assert "2 syndicated copies" not in index
    front = (site / "index.html").read_text(encoding="utf-8")
    assert "(crawl) started" in front and "(news) started" not in front, "the front page's last run is the policies'"


def test_demo_shows_the_german_stale_repetition_in_the_terminal_and_the_report(
        demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out, tmp_path = demo
    assert out.returncode == 0, out.stderr
    text = out.stdout
    sentence = "“Nach Angaben des Unternehmens werden temporäre Chats nach 30 Tagen gelöscht.”"
    night_4 = text[text.index("=== the press, read after the policies each night"):]
    stale = [line for line in night_4.splitlines() if "STALE REPETITION" in line]
    assert stale and all("nimbus/temporary-chats-deleted-after-30-days  repeats" in line for line in stale)
    listed = text[text.index("=== articles repeating a claim after the vendor stopped stating it"):]
    listed = listed[:listed.index("\n===")]
    assert listed.count("STALE REPETITION: the claim was weakened when the article appeared") == 1
    assert sentence + " — Privacy Desk Europe, 2026-01-04, de" in listed
    assert "reports (“Until this week”)" in text, "the English article reports the change: not stale"
    page = (tmp_path / "demo" / "site" / "claims" / "nimbus" / "temporary-chats-deleted-after-30-days.html"
            ).read_text(encoding="utf-8")
    coverage = page[page.index('id="press-coverage"'):]
    assert coverage.count('<li class="stale">') == 1 and "1 stale repetition(s)" in coverage
    assert "<mark>temporäre Chats nach 30 Tagen</mark> gelöscht.”" in coverage
    feed = feedparser.parse((tmp_path / "demo" / "site" / "feeds" / "coverage" / "nimbus" /
                             "temporary-chats-deleted-after-30-days.atom").read_bytes())
    assert not feed.bozo
    assert [e.title for e in feed.entries if e.title.startswith("[stale repetition] ")] == [
        "[stale repetition] Privacy Desk Europe: Temporäre Chats bei Nimbus AI: Was nach 30 Tagen passiert"]
