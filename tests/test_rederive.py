"""Bringing the record up to date after rules change: refused pages re-judged by `reextract`, stored changes
analysed again by `reanalyse`, neither announced."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

import feedparser
import yaml

from conftest import write_declarations
from policywatch.localserver import Page
from storage import blobs
from storage.db import make_engine, session_factory, transaction

ARTICLE = (b"<html><body><nav>Menu</nav><article><h1>Chats</h1><p>We keep temporary chats for 30 days, "
           b"then delete them.</p></article></body></html>")


def sql(db: Path, statement: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(statement, args).fetchall()


def test_a_refused_page_is_kept_and_becomes_a_version_once_its_selector_is_fixed(server, make_cli,  # type: ignore[no-untyped-def]
                                                                                 tmp_path: Path) -> None:
    spec = {"id": "t/help", "urls": ["/help"], "select": "main"}
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [spec])
    cli = make_cli(decl)
    server.routes["/help"] = Page(ARTICLE)
    refused = cli("crawl", "--now", "2026-05-01T00:00:00Z", check=False)
    assert refused.returncode == 2 and "selector_miss" in refused.stdout
    assert sql(cli.db, "select count(*) from versions") == [(0,)]
    (sha,) = [row[0] for row in sql(cli.db, "select s.blob_sha256 from snapshots s join fetch_outcomes o "
                                            "on o.id = s.outcome_id where o.outcome = 'failed'")]
    engine = make_engine(f"sqlite:///{cli.db}")
    with transaction(session_factory(engine)) as session:
        assert blobs.read(session, sha) == ARTICLE, "the refused page is kept byte for byte"
    engine.dispose()
    assert f"refused page kept as received: sha256 {sha}" in cli("history", "t/help").stdout
    (outcome,) = cli.json("history", "t/help")["outcomes"]
    assert [s["sha256"] for s in outcome["snapshots"]] == [sha]
    raw = tmp_path / "refused.html"
    cli("raw", sha[:12], "--out", str(raw))
    assert raw.read_bytes() == ARTICLE
    assert cli("raw", "0123", check=False).returncode == 2

    site = tmp_path / "site"
    cli("report", "--out", str(site))
    runs = (site / "runs.html").read_text(encoding="utf-8")
    assert f'href="raw/{sha}.txt"' in runs and "refused page as received" in runs
    assert (site / "raw" / f"{sha}.txt").read_bytes() == ARTICLE
    assert "selector_miss: the declared <code>select</code> matched nothing" in runs, "the failure kind says what it means"

    write_declarations(decl, server.base_url, [spec | {"select": "article"}])
    # A record only grows forwards: a re-derivation dated before the source's last fetch is refused, untouched.
    early = cli("reextract", "--now", "2026-04-30T00:00:00Z", check=False)
    assert early.returncode == 2 and "t/help already has a record at 2026-05-01T00:00:00Z" in early.stderr
    assert sql(cli.db, "select count(*) from runs where kind = 'reextract'") == [(0,)]
    fixed = cli("reextract", "--now", "2026-05-02T00:00:00Z")
    assert "t/help: new version 1 (technical change, not announced)" in fixed.stdout
    history = cli.json("history", "t/help")
    assert [v["number"] for v in history["versions"]] == [1]
    # Dated when it was re-derived, with no fetch then: the JSON says what it was read from, as `history` does.
    assert history["versions"][0]["re_derived_from"] == {"read_at": "2026-05-01T00:00:00Z", "from": "fetched page"}
    assert cli.json("show", "t/help")["re_derived_from"] == {"read_at": "2026-05-01T00:00:00Z", "from": "fetched page"}
    assert history["versions"][0]["snapshots"][0]["sha256"] == sha
    assert "We keep temporary chats for 30 days" in cli("show", "t/help").stdout
    assert "t/help: unchanged" in cli("reextract").stdout, "a second re-extraction finds nothing new"
    cli("report", "--out", str(site))
    page = (site / "versions" / "t" / "help" / "1.html").read_text(encoding="utf-8")
    assert "re-derived by <code>reextract</code> on" in page and "the first successful fetch" not in page
    assert cli.json("sources")[0]["last_checked"] == "2026-05-01T00:00:00Z", "a re-extraction checks no page"
    # Dated when it was re-derived, the version is no fetch of that time: its page says what it was read from.
    text = " ".join(html.unescape(page).split())
    assert "confirmed by 1 fetch" not in text
    assert ("This text is the page fetched <time datetime=\"2026-05-01T00:00:00Z\">2026-05-01T00:00:00Z</time> "
            "read again with the declarations of") in text and "no fetch has found it since" in text
    assert "re-derived 2026-05-02T00:00:00Z from the page fetched 2026-05-01T00:00:00Z, no fetch since" in text
    assert "No fetch has found this text since it was re-derived" in text
    assert "re-derived, no fetch since" in (site / "sources" / "t" / "help" / "index.html").read_text(encoding="utf-8")
    assert ("v1  2026-05-02T00:00:00Z  re-derived from the page fetched 2026-05-01T00:00:00Z, no fetch since"
            in cli("history", "t/help").stdout)

    cli("crawl", "--now", "2026-05-03T00:00:00Z")
    cli("report", "--out", str(site))
    text = " ".join(html.unescape((site / "versions" / "t" / "help" / "1.html").read_text(encoding="utf-8")).split())
    assert "found again by 1 later fetch to" in text and "no fetch has found it since" not in text
    assert "1 later fetch" in (site / "sources" / "t" / "help" / "index.html").read_text(encoding="utf-8")
    assert "re-derived 2026-05-02T00:00:00Z from the page fetched 2026-05-01T00:00:00Z, last confirmed 2026-05-03" in text
    assert ("v1  2026-05-02T00:00:00Z  re-derived from the page fetched 2026-05-01T00:00:00Z, confirmed "
            "2026-05-03T00:00:00Z" in cli("history", "t/help").stdout)


def test_reextract_falls_back_to_the_last_accepted_page_when_the_latest_is_still_refused(  # type: ignore[no-untyped-def]
        server, make_cli, tmp_path: Path) -> None:
    spec = {"id": "t/help", "urls": ["/help"], "select": "article"}
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [spec])
    cli = make_cli(decl)
    server.routes["/help"] = Page(ARTICLE)
    cli("crawl", "--now", "2026-05-01T00:00:00Z")
    server.routes["/help"] = Page(b"<html><title>Just a moment...</title><body>cf_chl_opt</body></html>", status=403)
    assert "bot_challenge" in cli("crawl", "--now", "2026-05-02T00:00:00Z", check=False).stdout
    write_declarations(decl, server.base_url, [spec | {"remove": ["h1"]}])
    out = cli("reextract", "--now", "2026-05-03T00:00:00Z")
    assert "t/help: new version 2 (technical change, not announced)" in out.stdout
    assert cli("show", "t/help").stdout.startswith("We keep temporary chats"), "the accepted page, without its h1"
    (kind,) = sql(cli.db, "select kind from changes")
    assert kind == ("technical",)


def test_reanalyse_brings_stored_changes_up_to_date_keeps_the_old_analysis_and_announces_nothing(  # type: ignore[no-untyped-def]
        server, make_cli, tmp_path: Path) -> None:
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/help", "urls": ["/help"], "select": "article"},
        {"id": "t/faq", "urls": ["/faq"], "select": "article"}])
    cli = make_cli(decl)
    faq = b"<article><p>Ask us anything about %s.</p></article>"
    for day, (days, topic) in enumerate([(b"30", b"billing"), (b"90", b"accounts")], start=1):
        server.routes["/help"] = Page(ARTICLE.replace(b"30", days))
        server.routes["/faq"] = Page(faq % topic)
        cli("crawl", "--now", f"2026-05-0{day}T00:00:00Z")
    stored = sql(cli.db, "select id, flags, severity, summary from changes where source_id = 't/help'")
    (change_id, flags, severity, summary), = stored
    assert "retention" in json.loads(flags) and severity == "high"
    gained = ", ".join(f"1 gained {flag}" for flag in sorted(json.loads(flags)))
    # What an older flagger, without the retention rules, had recorded; it announced nothing flagged.
    sql(cli.db, "update changes set flags = '[]', announced_flags = '[]', severity = 'low', summary = '', "
                "evidence = '[]' where id = ?", change_id)

    out = cli("reanalyse", "--now", "2026-05-10T00:00:00Z")
    assert f"2 changes re-analysed: {gained}, 1 severity changed (not announced)" in out.stdout
    assert "t/help v2: +" in out.stdout and "severity low → high" in out.stdout
    assert sql(cli.db, "select flags, severity, summary from changes where id = ?", change_id) == [
        (flags, severity, summary)]
    kept = sql(cli.db, "select flags, severity, replaced_at, r.kind from change_analyses a join runs r "
                       "on r.id = a.run_id where change_id = ?", change_id)
    assert kept == [("[]", "low", "2026-05-10 00:00:00.000000", "reanalyse")], "the old analysis is kept"
    assert "nothing moved" in cli("reanalyse").stdout, "a second re-analysis changes nothing"

    site = tmp_path / "site"
    cli("report", "--out", str(site))
    flagged = feedparser.parse((site / "feeds" / "flagged.atom").read_bytes())
    assert not flagged.bozo and flagged.entries == [], "a flag found by a re-analysis is not announced"
    everything = feedparser.parse((site / "feeds" / "changes.atom").read_bytes())
    assert len(everything.entries) == 2, "the changes announced when detected stay announced"
    assert html.escape(str(summary)) in (site / "changes" / f"{change_id}.html").read_text(encoding="utf-8")

    only = cli("reanalyse", "--only", "t/nope", check=False)
    assert only.returncode == 2 and "no recorded source 't/nope'" in only.stderr


def test_reanalyse_limits_itself_to_the_named_sources_and_times(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": []}), encoding="utf-8")
    decl = write_declarations(decl, server.base_url, [{"id": "t/help", "urls": ["/help"], "select": "article"}])
    cli = make_cli(decl)
    for day, days in enumerate([b"30", b"90", b"60"], start=1):
        server.routes["/help"] = Page(ARTICLE.replace(b"30", days))
        cli("crawl", "--now", f"2026-05-0{day}T00:00:00Z")
    sql(cli.db, "update changes set severity = 'low'")
    out = cli("reanalyse", "--only", "t/help", "--since", "2026-05-03T00:00:00Z")
    assert "1 change re-analysed: 1 severity changed" in out.stdout
    assert sql(cli.db, "select severity from changes order by id") == [("low",), ("high",)]


def test_reextract_never_turns_a_doubtful_fetch_into_a_version(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paragraphs = "".join(f"<p>Paragraph {i}: we keep chats for 30 days.</p>" for i in range(40))
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/long", "urls": ["/long"], "select": "article"}])
    cli = make_cli(decl)
    server.routes["/long"] = Page(f"<article>{paragraphs}</article>".encode())
    cli("crawl", "--now", "2026-05-01T00:00:00Z")
    server.routes["/long"] = Page(b"<article><p>Paragraph 0: we keep chats for 30 days.</p></article>")
    assert "too_short" in cli("crawl", "--now", "2026-05-02T00:00:00Z", check=False).stdout
    out = cli("reextract", "--now", "2026-05-03T00:00:00Z")
    assert "t/long: unchanged" in out.stdout, "a page refused as too short stays refused"
    assert sql(cli.db, "select count(*) from versions") == [(1,)]


def test_reextract_uses_only_fetches_that_kept_every_page(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/two", "urls": ["/one", "/two"], "select": "main"}])
    cli = make_cli(decl)
    server.routes["/one"] = Page(b"<main><p>Part one.</p></main>")
    server.routes["/two"] = Page(b"<div><p>Part two.</p></div>")
    assert "selector_miss" in cli("crawl", "--now", "2026-05-01T00:00:00Z", check=False).stdout
    # Keep only the first page of that fetch, as when the second was over the size limit.
    sql(cli.db, "delete from snapshots where position = 1")
    write_declarations(decl, server.base_url, [{"id": "t/two", "urls": ["/one", "/two"], "select": "main, div"}])
    out = cli("reextract", "--now", "2026-05-02T00:00:00Z")
    assert "t/two: nothing stored to judge again" in out.stdout and "0 new version(s)" in out.stdout
    assert sql(cli.db, "select count(*) from versions") == [(0,)], "half a document never becomes a version"
