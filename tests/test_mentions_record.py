"""Mentions through the news night, the record, the command line and the report, on a real SQLite file with
the demo's claims and press pages (no crawl: the night is handed the fetched bytes)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from analysis.claims import ClaimStatus, StatusEvent
from analysis.claims.vocabulary import Cause
from analysis.quotes import MAX_QUOTES
from ingest.claims_declarations import load_claims
from ingest.mentions import MentionsPlan
from ingest.news.declarations import load_news
from ingest.news.discovery import Candidate
from ingest.news.night import ArticleTarget, Fetched, NewsNight
from policywatch.cli import main
from policywatch.commands.demo import NEWS_PAGES, PAGES, write_news_declarations
from reports.site import build_site
from storage import claims_record
from storage.db import make_engine, session_factory, transaction, upgrade
from analysis.claims.vocabulary import MentionReview
from storage.mentions_models import MentionRow
from storage.mentions_record import review_mention
from storage.vocabulary import FetchReason

BASE = "http://127.0.0.1:9"
DAY1 = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
CLAIM = "nimbus/temporary-chats-deleted-after-30-days"
DELETED = "nimbus/deleted-chats-removed-within-30-days"
GERMAN = "/privacy-desk/de/2026/01/04/nimbus-ai-temporaere-chats"
ENGLISH = "/privacy-desk/2026/01/03/nimbus-ai-temporary-chats-90-days"
HOSTILE = "/privacy-desk/de/2026/01/05/feindlich"
STALE_SENTENCE = "Nach Angaben des Unternehmens werden temporäre Chats nach 30 Tagen gelöscht."


def _page(name: str) -> bytes:
    return (NEWS_PAGES / name).read_bytes().replace(b"{base}", BASE.encode())


HOSTILE_SENTENCE = "Laut Nimbus AI werden temporäre Chats <script>alert(1)</script> nach 30 Tagen gelöscht."


def _hostile_page() -> bytes:
    # The same article at another URL and date; the extractor drops markup, so the sentence that must never
    # reach a page unescaped is put in the record afterwards (as an article quoting markup would have it).
    page = _page("temporaere-chats.html").replace(GERMAN.encode(), HOSTILE.encode())
    return page.replace(b"2026-01-04T07:30:00+01:00", b"2026-01-05T07:30:00+01:00")


def _event(status: ClaimStatus, previous: ClaimStatus | None, since: datetime) -> StatusEvent:
    return StatusEvent(claim_id=CLAIM, status=status, previous=previous, since=since, cause=Cause.VENDOR_CHANGE,
                       source_id=None, version=None, change_kind=None, announce=True)


class Record:
    def __init__(self, root: Path):
        self.root = root
        self.db = root / "policywatch.db"
        self.claims = root / "claims.yaml"
        shutil.copy(PAGES / "claims.yaml", self.claims)
        self.news = write_news_declarations(root, BASE)
        self.engine = make_engine(f"sqlite:///{self.db}")
        upgrade(self.engine)
        self.factory = session_factory(self.engine)
        self.config = load_news(self.news)

    def night(self, at: datetime, rescan_seconds: float = 60.0) -> NewsNight:
        night = NewsNight(self.factory, self.config, list(self.config.sources.values()), now=lambda: at,
                          mentions=MentionsPlan(self.claims, rescan_seconds=rescan_seconds))
        night.open()
        return night

    def read(self, night: NewsNight, path: str, body: bytes, published: datetime) -> str:
        url = BASE + path
        candidate = Candidate(url=url, title="", summary="", guid=path, published=published,
                              source_id="privacydesk/all")
        target = ArticleTarget(url, url, "privacydesk/all", FetchReason.DISCOVERED, candidate)
        result = night.record_page(target, Fetched(url, url, 200, body, {"content-type": "text/html; charset=utf-8"}))
        assert result.outcome == "first", result.detail
        assert result.article_id is not None
        return result.article_id

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        status = main(["--db", str(self.db), "--claims", str(self.claims), *args])
        out = capsys.readouterr()
        return status, out.out, out.err

    def mentions(self) -> list[MentionRow]:
        with transaction(self.factory) as session:
            rows = list(session.scalars(select(MentionRow).order_by(MentionRow.id)))
            session.expunge_all()
            return rows


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Any:
    rec = Record(tmp_path_factory.mktemp("mentions"))
    with transaction(rec.factory) as session:
        claims_record.add_events(session, [_event(ClaimStatus.SUPPORTED, None, DAY1),
                                           _event(ClaimStatus.WEAKENED, ClaimStatus.SUPPORTED,
                                                  DAY1 + timedelta(days=2))],
                                 change_ids={}, recorded_at=DAY1, run_id=None)
        for claim in load_claims(rec.claims):
            claims_record.declare_claim(session, claim, "test", DAY1)
    night = rec.night(DAY1 + timedelta(days=3))
    rec.english = rec.read(night, ENGLISH, _page("temporary-chats-90-days.html"), DAY1 + timedelta(days=2))
    rec.german = rec.read(night, GERMAN, _page("temporaere-chats.html"), DAY1 + timedelta(days=3))
    rec.hostile = rec.read(night, HOSTILE, _hostile_page(), DAY1 + timedelta(days=4))
    with transaction(rec.factory) as session:
        row = session.scalars(select(MentionRow).where(MentionRow.article_id == rec.hostile,
                                                       MentionRow.claim_id == CLAIM)).one()
        row.sentence, row.span_start = HOSTILE_SENTENCE, HOSTILE_SENTENCE.index("temporäre")
        row.span_end = HOSTILE_SENTENCE.index(" gelöscht")
    rec.run_id = night.run_id
    night.close()
    yield rec
    rec.engine.dispose()


def test_the_night_stores_each_mention_with_its_stance(record: Record) -> None:
    found = {(m.article_id, m.claim_id, m.stance, m.review) for m in record.mentions()}
    assert (record.german, CLAIM, "repeats", "unreviewed") in found
    assert (record.english, CLAIM, "reports", "unreviewed") in found
    assert (record.german, DELETED, "repeats", "unreviewed") in found
    german = next(m for m in record.mentions() if m.article_id == record.german and m.claim_id == CLAIM)
    assert german.sentence == STALE_SENTENCE and german.run_id == record.run_id
    assert german.sentence[german.span_start:german.span_end] == "temporäre Chats nach 30 Tagen"


def test_the_news_output_and_the_listing_mark_the_stale_repetition(record: Record,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from policywatch.commands.context import Context
    from policywatch.commands.news import report_news_runs

    class Result:
        run_id = record.run_id

    ctx = Context(_settings(record))
    report_news_runs(ctx, [Result()])  # type: ignore[list-item]
    out = capsys.readouterr().out
    stale_lines = [line for line in out.splitlines() if "STALE REPETITION" in line]
    assert len(stale_lines) == 2, out  # the German article and its hostile twin
    assert f"{CLAIM}  repeats  unreviewed  STALE REPETITION: the claim was weakened when the article appeared" \
        in stale_lines[0]
    assert f"“{STALE_SENTENCE}” — Privacy Desk Europe, 2026-01-04, de" in out
    assert "reports (“Until this week”)" in out and "STALE" not in out.split("Until this week")[1].splitlines()[0]
    status, listed, _ = record.cli(capsys, "mentions", "--stale", "--json")
    assert status == 0
    rows = json.loads(listed)
    assert {r["article"]["id"] for r in rows} == {record.german, record.hostile}
    assert all(r["stale"] and r["claim_status_when_published"] == "weakened" for r in rows)


def _settings(record: Record) -> Any:
    from dataclasses import replace

    from policywatch.config import load_settings

    return replace(load_settings(), db=str(record.db), claims=record.claims)


def test_review_confirms_and_rejects_and_articles_filter_by_claim(record: Record,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    german = next(m for m in record.mentions() if m.article_id == record.german and m.claim_id == CLAIM)
    assert record.cli(capsys, "mentions", "review", str(german.id), "confirm")[:2] == \
        (0, f"mention {german.id} ({CLAIM}): confirmed\n")
    status, _, err = record.cli(capsys, "mentions", "review", "999999", "reject")
    assert status == 2 and "no mention 999999" in err
    status, _, err = record.cli(capsys, "mentions", "review", str(german.id), "maybe")
    assert status == 2 and "unknown verdict 'maybe'" in err
    assert {m.id: m.review for m in record.mentions()}[german.id] == "confirmed"
    status, out, _ = record.cli(capsys, "mentions", "--claim", CLAIM, "--review", "confirmed")
    assert status == 0 and out.startswith(f"mention {german.id}  {CLAIM}  repeats  confirmed  STALE REPETITION")
    status, out, _ = record.cli(capsys, "articles", "--claim", DELETED, "--json")
    assert {a["id"] for a in json.loads(out)} == {record.german, record.english, record.hostile}
    status, out, _ = record.cli(capsys, "articles", "--claim", "nimbus/no-sale-of-personal-data")
    assert out == "no articles recorded that match\n"
    status, out, _ = record.cli(capsys, "article", record.german[:12])
    assert "sentences that mention a claim (v1):" in out and "STALE REPETITION" in out
    status, out, _ = record.cli(capsys, "article", record.german[:12], "--json")
    assert {(m["claim"], m["stance"], m["stale"]) for m in json.loads(out)["mentions"]} == {
        (CLAIM, "repeats", True), (DELETED, "repeats", False)}


def test_the_report_quotes_mentions_escaped_and_marks_the_stale_repetition(record: Record, tmp_path: Path) -> None:
    english = next(m for m in record.mentions() if m.article_id == record.english and m.claim_id == DELETED)
    german = next(m for m in record.mentions() if m.article_id == record.german and m.claim_id == CLAIM)
    # Both reviews are made here, so the test does not depend on another having run before it; the German one is
    # put back as it was, so neither do the tests after it.
    with transaction(record.factory) as session:
        session.get_one(MentionRow, english.id).review = "rejected"
        row = session.get_one(MentionRow, german.id)
        verdict, row.review = row.review, "confirmed"
    try:
        _check_the_report(record, tmp_path)
    finally:
        with transaction(record.factory) as session:
            session.get_one(MentionRow, german.id).review = verdict


def _check_the_report(record: Record, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(record.factory, site, base_url="https://policywatch.example/")
    claim = (site / "claims" / f"{CLAIM}.html").read_text(encoding="utf-8")
    coverage = claim[claim.index('id="press-coverage"'):]
    assert "<mark>temporäre Chats nach 30 Tagen</mark> gelöscht.”" in coverage
    assert coverage.count('<li class="stale">') == 2 and "2 stale repetition(s)" in coverage
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in coverage and "<script>alert" not in claim
    assert "confirmed by a reader" in coverage
    deleted = (site / "claims" / f"{DELETED}.html").read_text(encoding="utf-8")
    assert "Mentioned in 2 article(s)" in deleted, "the rejected mention is not published"
    article = (site / "coverage" / f"{record.hostile}.html").read_text(encoding="utf-8")
    mentions = article[article.index('id="mentions-h"'):]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mentions and "<script>alert" not in article
    assert "stale repetition" in mentions and f"../claims/{CLAIM}.html" in mentions
    feed = feedparser.parse((site / "feeds" / "coverage" / f"{CLAIM}.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == 3
    assert sum(e.title.startswith("[stale repetition] ") for e in feed.entries) == 2
    hostile = next(e for e in feed.entries if HOSTILE in e.content[0].value or "alert(1)" in e.content[0].value)
    assert "<script>" not in hostile.content[0].value


def test_a_changed_vocabulary_reads_the_stored_articles_again_and_keeps_reviews(record: Record) -> None:
    before = {(m.article_id, m.claim_id, m.sentence_index): m for m in record.mentions()}
    confirmed = [key for key, m in before.items() if m.review == "confirmed"]
    text = record.claims.read_text(encoding="utf-8")
    # German mentions of the temporary-chats claim now need "gelöscht" too; the English ones stay as they were.
    record.claims.write_text(text.replace(r"de: {patterns: ['\btemporäre\w* Chats?\b(?:\W+\w+){0,10}?\W+30 Tage\w*\b']}",
                                          r"de: {patterns: ['\btemporäre\w* Chats?\b(?:\W+\w+){0,10}?\W+30 Tage\w*"
                                          r"(?:\W+\w+){0,2}?\W+gelöscht\b']}"), encoding="utf-8")
    night = record.night(DAY1 + timedelta(days=6))
    night.close()
    assert night.rescanned is not None and night.rescanned.claims == [CLAIM] and not night.rescanned.unfinished
    after = {(m.article_id, m.claim_id, m.sentence_index): m for m in record.mentions()}
    assert all(key in after and after[key].review == "confirmed" for key in confirmed)
    german = [m for key, m in after.items() if key[0] == record.german and key[1] == CLAIM]
    assert [m.sentence[m.span_start:m.span_end] for m in german] == ["temporäre Chats nach 30 Tagen gelöscht"]
    again = record.night(DAY1 + timedelta(days=7))
    again.close()
    assert again.rescanned is not None and again.rescanned.claims == [], "an unchanged vocabulary is not read again"


def test_the_rescan_is_bounded_and_carries_on_the_next_night(record: Record) -> None:
    text = record.claims.read_text(encoding="utf-8")
    record.claims.write_text(text.replace(r"\btemporary chats?\b(?:\W+\w+){0,14}?\W+30 days\b",
                                          r"\btemporary chats?\b(?:\W+\w+){0,16}?\W+30 days\b"), encoding="utf-8")
    cut = record.night(DAY1 + timedelta(days=8), rescan_seconds=0.0)
    cut.close()
    assert cut.rescanned is not None and cut.rescanned.unfinished == [CLAIM] and cut.rescanned.versions == 0
    done = record.night(DAY1 + timedelta(days=9))
    done.close()
    assert done.rescanned is not None and done.rescanned.claims == [CLAIM] and done.rescanned.versions == 3


def test_the_listing_shows_what_each_article_says_now_unless_asked_for_every_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Record(tmp_path)
    try:
        with transaction(rec.factory) as session:
            for claim in load_claims(rec.claims):
                claims_record.declare_claim(session, claim, "test", DAY1)
        night = rec.night(DAY1 + timedelta(days=3))
        english = rec.read(night, ENGLISH, _page("temporary-chats-90-days.html"), DAY1 + timedelta(days=2))
        night.close()
        # The next edition drops the sentence that reported the earlier wording.
        edited = _page("temporary-chats-90-days.html").replace(
            b"Until this week, the company's help centre said a copy of each temporary chat was kept for up to "
            b"30 days to monitor for abuse, then deleted. ", b"")
        night = rec.night(DAY1 + timedelta(days=4))
        url = BASE + ENGLISH
        candidate = Candidate(url=url, title="", summary="", guid=ENGLISH, published=DAY1 + timedelta(days=2),
                              source_id="privacydesk/all")
        target = ArticleTarget(url, url, "privacydesk/all", FetchReason.REFETCH, candidate, article_id=english)
        result = night.record_page(target, Fetched(url, url, 200, edited,
                                                   {"content-type": "text/html; charset=utf-8"}))
        night.close()
        assert result.article_id == english and result.outcome != "first", result
        status, out, _ = rec.cli(capsys, "mentions", "--claim", CLAIM, "--json")
        assert status == 0
        assert all(m["article"]["version"] == 2 for m in json.loads(out))
        assert not any("Until this week" in m["sentence"] for m in json.loads(out))
        status, out, _ = rec.cli(capsys, "mentions", "--claim", CLAIM, "--all-versions", "--json")
        assert status == 0
        old = [m for m in json.loads(out) if m["article"]["version"] == 1]
        assert old and any("Until this week" in m["sentence"] for m in old)
    finally:
        rec.engine.dispose()


@pytest.mark.parametrize("which", ["german", "english", "hostile"])
def test_article_and_article_json_quote_the_same_sentences(record: Record, capsys: pytest.CaptureFixture[str],
                                                           which: str) -> None:
    article_id = getattr(record, which)
    status, text, _ = record.cli(capsys, "article", article_id[:12])
    assert status == 0
    flagged = text.split("flagged sentences (v1):\n", 1)[1].split("sentences that mention a claim", 1)[0]
    shown = [line.split("] “", 1)[1].rstrip("”") for line in flagged.splitlines() if line.startswith("  [")]
    status, out, _ = record.cli(capsys, "article", article_id[:12], "--json")
    detail = json.loads(out)
    assert shown and [q["sentence"] for q in detail["versions"][-1]["quotes"]] == shown
    quoted = {m["sentence"] for m in detail["mentions"]} | set(shown)
    assert len(quoted) <= MAX_QUOTES  # one budget for the article's quotations, mentions first


def test_raw_gives_an_article_page_exactly_as_fetched(record: Record, capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    # The sha256 `article --json` lists under its fetches reaches the stored bytes, as a policy page's does.
    status, out, _ = record.cli(capsys, "article", record.german[:12], "--json")
    sha = next(f["raw_sha256"] for f in json.loads(out)["fetches"] if f["raw_sha256"])
    target = tmp_path / "article.html"
    status, _, err = record.cli(capsys, "raw", sha[:10], "--out", str(target))
    assert status == 0, err
    assert target.read_bytes() == _page("temporaere-chats.html")
    status, _, err = record.cli(capsys, "raw", "0" * 12)
    assert status == 2 and "no stored page has a sha256 starting with 000000000000" in err


def test_an_article_keeps_its_declared_publication_time_and_gives_it_in_utc(record: Record,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = record.cli(capsys, "articles", "--json")
    german = next(a for a in json.loads(out) if a["id"] == record.german)
    assert (german["published"], german["published_at"]) == ("2026-01-04T07:30:00+01:00", "2026-01-04T06:30:00Z")
    status, out, _ = record.cli(capsys, "mentions", "--claim", CLAIM, "--json")
    german_mentions = [m for m in json.loads(out) if m["article"]["id"] == record.german]
    assert {m["article"]["published_at"] for m in german_mentions} == {"2026-01-04T06:30:00Z"}
    # Fetched at 06:00, half an hour before the time it declares: it appeared no later than that fetch.
    assert {m["article"]["appeared"] for m in german_mentions} == {"2026-01-04T06:00:00Z"}


def test_the_export_holds_the_coverage_as_the_site_publishes_it_never_an_article_text(
        record: Record, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import zipfile

    from storage.news_models import ArticleVersion

    status, out, err = record.cli(capsys, "export", "--out", str(tmp_path))
    assert status == 0, err
    assert ", articles 3, mentions " in out
    (path,) = tmp_path.glob("policywatch-dataset-*.zip")
    with zipfile.ZipFile(path) as archive:
        def rows(name: str) -> list[dict[str, Any]]:
            return [json.loads(line) for line in archive.read(name).decode("utf-8").splitlines()]
        articles, mentions = rows("articles.jsonl"), rows("mentions.jsonl")
        everything = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8")
    assert {a["id"] for a in articles} == {record.german, record.english, record.hostile}
    german = next(a for a in articles if a["id"] == record.german)
    assert (german["published_at"], german["claims"]) == ("2026-01-04T06:30:00Z", sorted(german["claims"]))
    assert CLAIM in german["claims"] and "text" not in german
    stale = [m for m in mentions if m["article"] == record.german and m["claim"] == CLAIM]
    assert len(stale) == 1 and stale[0]["stale"] is True and stale[0]["review"] in ("unreviewed", "confirmed")
    assert "temporäre Chats nach 30 Tagen" in stale[0]["sentence"]
    assert stale[0]["claim_status_when_published"] == "weakened"
    assert all(m["review"] != "rejected" for m in mentions)
    with transaction(record.factory) as session:
        kept = [v.text for v in session.scalars(select(ArticleVersion)) if v.text]
    quoted = {m["sentence"] for m in mentions}
    unquoted = [line.strip() for text in kept for line in text.splitlines()
                if len(line.strip()) > 60 and not any(line.strip() in q or q in line for q in quoted)]
    assert unquoted and not any(line in everything for line in unquoted), "no sentence of an article goes unquoted"

    # The same record exports the same bytes; a reader's verdict moves the export, and leaves its mention out.
    again = tmp_path / "again"
    assert record.cli(capsys, "export", "--out", str(again))[0] == 0
    assert (again / path.name).read_bytes() == path.read_bytes()
    assert "is up to date" in record.cli(capsys, "export", "--out", str(tmp_path))[1]
    with transaction(record.factory) as session:
        row = session.get_one(MentionRow, stale[0]["id"])
        verdict, row.review = row.review, "rejected"
    try:
        status, out, _ = record.cli(capsys, "export", "--out", str(tmp_path))
        assert status == 0 and "is up to date" not in out
        with zipfile.ZipFile(path) as archive:
            left = [json.loads(line) for line in archive.read("mentions.jsonl").decode("utf-8").splitlines()]
        assert stale[0]["id"] not in {m["id"] for m in left} and len(left) == len(mentions) - 1
    finally:
        with transaction(record.factory) as session:
            session.get_one(MentionRow, stale[0]["id"]).review = verdict


def test_a_verdict_carries_to_a_later_edition_that_repeats_the_sentence(tmp_path: Path) -> None:
    rec = Record(tmp_path)
    first = rec.night(DAY1 + timedelta(days=3))
    german = rec.read(first, GERMAN, _page("temporaere-chats.html"), DAY1 + timedelta(days=3))
    first.close()
    (rejected,) = [m for m in rec.mentions() if m.article_id == german and m.claim_id == CLAIM]
    with transaction(rec.factory) as session:
        review_mention(session, rejected.id, MentionReview.REJECTED, DAY1 + timedelta(days=4))
    # The next edition adds a paragraph and repeats the rejected sentence word for word.
    page = _page("temporaere-chats.html")
    added = ("<p>Aktualisiert: Nimbus AI hat sich am Montag auf Anfrage der Redaktion ausführlich zu den Fragen "
             "der Leserinnen und Leser geäußert und weitere Auskünfte zu seinen Einstellungen angekündigt.</p>")
    edition = page.replace("<p>Wer bei Nimbus AI".encode(), (added + "<p>Wer bei Nimbus AI").encode(), 1)
    assert edition != page
    second = rec.night(DAY1 + timedelta(days=10))
    url = BASE + GERMAN
    candidate = Candidate(url=url, title="", summary="", guid=GERMAN, published=DAY1 + timedelta(days=3),
                          source_id="privacydesk/all")
    result = second.record_page(ArticleTarget(url, url, "privacydesk/all", FetchReason.REFETCH, candidate),
                                Fetched(url, url, 200, edition, {"content-type": "text/html; charset=utf-8"}))
    second.close()
    assert result.outcome == "changed", result.detail
    later = [m for m in rec.mentions() if m.article_id == german and m.claim_id == CLAIM and m.id != rejected.id]
    assert [(m.sentence, m.review) for m in later] == [(rejected.sentence, "rejected")]
    assert later[0].article_version_id != rejected.article_version_id
