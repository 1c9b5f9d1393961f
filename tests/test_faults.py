"""Fault injection: a local server serves every failure kind across a scripted sequence of runs.

Nothing suspicious may become a version; every failure is recorded with its
kind; flip-flops are recorded as reverts and kept out of the change feed;
failure episodes are announced once when they start and once when they end.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import feedparser
import pytest

from conftest import version_texts, write_declarations
from policywatch.localserver import Page
from storage.db import make_engine, session_factory, transaction
from storage.health import health_events

LONG_TEXT = " ".join(f"Clause {i}: we keep your chats for thirty days and then delete them." for i in range(40))
OTHER_TEXT = " ".join(f"Article {i}: these terms govern the purchase of credits, refunds and taxes." for i in range(40))
SHORTER_TEXT = " ".join(f"Clause {i}: we keep your chats for thirty days and then delete them." for i in range(12))


def html(text: str) -> bytes:
    return f"<html><head><title>Policy</title></head><body><main><p>{text}</p></main></body></html>".encode()


CF_MOMENT = (b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title>"
             b"<meta http-equiv='refresh' content='390'></head><body><div class='main-wrapper'>"
             b"<main><h1>openai.com</h1><p>Verifying you are human. This may take a few seconds.</p></main>"
             b"<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'openai.com',cType: 'managed'};"
             b"var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1';"
             b"document.getElementsByTagName('head')[0].appendChild(a);}());</script></div></body></html>")
CF_ATTENTION = (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
                b"<div id='cf-wrapper'><main><h1>Sorry, you have been blocked</h1>"
                b"<p>You are unable to access openai.com</p></main><div id='cf-error-details'>"
                b"<p>Cloudflare Ray ID: 8c1f2a3b4d5e6f70</p></div></div></body></html>")
LOGIN_FORM = b"<html><body><main><form><input name='email'><input type='password' name='pw'></form></main></body></html>"
DEEP = b"<html><body><main>" + b"<div>" * 5000 + b"deep" + b"</div>" * 5000 + b"</main></body></html>"
BOMB = gzip.compress(b"<html><body><main><p>" + b"a" * 12_000_000 + b"</p></main></body></html>")

# source id → (route, what each of the four runs serves)
SCRIPT: dict[str, tuple[str, list[Page]]] = {
    "t/stable": ("/stable", [Page(html("Stable policy text."))] * 4),
    "t/flip": ("/flip", [Page(html("Text A.")), Page(html("Text B.")), Page(html("Text A.")), Page(html("Text B."))]),
    "t/cf403": ("/cf403", [Page(html("Guarded policy.")), Page(CF_MOMENT, 403, headers={"cf-mitigated": "challenge"}),
                           Page(CF_MOMENT, 403), Page(html("Guarded policy."))]),
    "t/cf200": ("/cf200", [Page(CF_MOMENT, 200)] * 4),
    "t/attn403": ("/attn403", [Page(CF_ATTENTION, 403)] * 4),
    "t/attn200": ("/attn200", [Page(CF_ATTENTION, 200)] * 4),
    "t/login": ("/members/policy", [Page(b"", 302, headers={"Location": "/login?next=/members/policy"})] * 4),
    "t/trunc": ("/trunc", [Page(html(LONG_TEXT), truncate_to=200)] * 4),
    "t/slow": ("/slow", [Page(html("Too late."), delay=2.5)] * 4),
    "t/r429": ("/r429", [Page(b"slow down", 429, headers={"Retry-After": "1"})] * 4),
    "t/pdf": ("/pdf", [Page(b"%PDF-1.7 ...", content_type="application/pdf")] * 4),
    "t/big": ("/big", [Page(html("x" * 3_000_000))] * 4),
    "t/bomb": ("/bomb", [Page(BOMB, headers={"Content-Encoding": "gzip"})] * 4),
    "t/badbytes": ("/badbytes", [Page(b"<main><p>caf\xe9 \xff\xfe</p></main>", content_type="text/html; charset=utf-8")] * 4),
    "t/broken": ("/broken", [Page(b"<main><p>Unclosed <b>bold <div>text</main></p></b>")] * 4),
    "t/deep": ("/deep", [Page(DEEP)] * 4),
    "t/loop": ("/loop", [Page(b"", 302, headers={"Location": "/loop"})] * 4),
    "t/shrink": ("/shrink", [Page(html(LONG_TEXT)), Page(html("Clause 1.")), Page(html("Clause 2.")),
                             Page(html("This policy has moved to our new privacy centre."))]),
    "t/shorter": ("/shorter", [Page(html(LONG_TEXT)), Page(html("Clause 1.")), Page(html("Clause 1.")),
                               Page(html("Clause 1."))]),
    "t/halved": ("/halved", [Page(html(LONG_TEXT)), Page(html(SHORTER_TEXT)), Page(html(SHORTER_TEXT)),
                             Page(html(SHORTER_TEXT))]),
    # Another document served in place of this one: held, then confirmed by the next fetch …
    "t/swap": ("/swap", [Page(html(LONG_TEXT))] + [Page(html(OTHER_TEXT))] * 3),
    # … or contradicted by it, and dropped.
    "t/glitch": ("/glitch", [Page(html(LONG_TEXT)), Page(html(OTHER_TEXT)), Page(html(LONG_TEXT)),
                             Page(html(LONG_TEXT))]),
    "t/empty": ("/empty", [Page(b"")] * 4),
}
EXTRA_ROUTES = {"/login": Page(LOGIN_FORM)}

# What each run must record per source: an outcome or a failure kind.
EXPECTED = {
    "t/stable": ["first", "unchanged", "unchanged", "unchanged"],
    "t/flip": ["first", "changed", "changed", "changed"],
    "t/cf403": ["first", "bot_challenge", "bot_challenge", "unchanged"],
    "t/cf200": ["bot_challenge"] * 4,
    "t/attn403": ["bot_challenge"] * 4,
    "t/attn200": ["bot_challenge"] * 4,
    "t/login": ["login_wall"] * 4,
    "t/trunc": ["truncated"] * 4,
    "t/slow": ["timeout"] * 4,
    "t/r429": ["http_error"] * 4,
    "t/pdf": ["not_html"] * 4,
    "t/big": ["oversize"] * 4,
    "t/bomb": ["oversize"] * 4,
    "t/badbytes": ["decode_error"] * 4,
    "t/broken": ["first", "unchanged", "unchanged", "unchanged"],
    "t/deep": ["decode_error"] * 4,
    "t/loop": ["redirect_loop"] * 4,
    # A page saying it moved is not too short, but replaces almost everything: held until confirmed.
    "t/shrink": ["first", "too_short", "too_short", "pending"],
    # A remnant of the page (under a fifth of it) never becomes its text by repeating.
    "t/shorter": ["first", "too_short", "too_short", "too_short"],
    # A text that really got shorter (under half, over a fifth) is taken once it is seen twice in a row.
    "t/halved": ["first", "too_short", "changed", "unchanged"],
    # Run 2's capture became the version once run 3 confirmed it.
    "t/swap": ["first", "changed", "unchanged", "unchanged"],
    "t/glitch": ["first", "dropped", "unchanged", "unchanged"],
    "t/empty": ["empty"] * 4,
    "t/file": ["forbidden_url"] * 4,
}
VERSIONS = {"t/stable": 1, "t/flip": 4, "t/cf403": 1, "t/broken": 1, "t/shrink": 1, "t/shorter": 1,
            "t/halved": 2, "t/swap": 2, "t/glitch": 1}


def recorded(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select source_id, outcome, failure_kind from fetch_outcomes order by run_id, id").fetchall()
    result: dict[str, list[str]] = {}
    for sid, outcome, kind in rows:
        result.setdefault(sid, []).append(kind if outcome == "failed" else outcome)
    return result


@pytest.fixture(scope="module")
def faulty_history(tmp_path_factory):  # type: ignore[no-untyped-def]
    from conftest import CLI
    from policywatch.localserver import LocalServer

    tmp = tmp_path_factory.mktemp("faults")
    with LocalServer() as server:
        specs = [{"id": sid, "urls": [route], "select": "main"} for sid, (route, _) in SCRIPT.items()]
        specs.append({"id": "t/file", "urls": ["file:///etc/passwd"], "select": "main"})
        decl = write_declarations(tmp / "sources.yaml", server.base_url, specs)
        cli = CLI(tmp / "faults.db", decl, tmp)
        env = {"POLICYWATCH_DOWNLOAD_TIMEOUT": "1", "POLICYWATCH_DOWNLOAD_MAXSIZE": "2000000",
               "POLICYWATCH_RETRY_TIMES": "1"}
        outputs = []
        for run in range(4):
            server.routes.clear()
            server.routes.update(EXTRA_ROUTES)
            server.routes.update({route: pages[run] for route, pages in SCRIPT.values()})
            start = len(server.hits)
            outputs.append(cli("crawl", "--now", f"2026-03-0{run + 1}T00:00:00Z", check=False, env=env))
            if run == 0:
                hits_429 = [t for p, t in server.timed_hits[start:] if p == "/r429"]
        site = tmp / "site"
        cli("report", "--out", str(site))
        yield cli, outputs, hits_429, site


def test_every_failure_is_recorded_with_its_kind(faulty_history) -> None:  # type: ignore[no-untyped-def]
    cli, outputs, _, _ = faulty_history
    assert all(o.returncode == 1 for o in outputs), [o.stdout for o in outputs]
    assert recorded(cli.db) == EXPECTED


def test_no_false_versions(faulty_history) -> None:  # type: ignore[no-untyped-def]
    cli, _, _, _ = faulty_history
    with sqlite3.connect(cli.db) as conn:
        versions = dict(conn.execute("select source_id, count(*) from versions group by source_id"))
    texts = list(version_texts(cli.db).values())
    assert versions == VERSIONS
    assert not any("moment" in t.lower() or "blocked" in t.lower() or "password" in t.lower() for t in texts)


def test_flip_flop_is_recorded_as_reverts_and_kept_out_of_the_feed(faulty_history) -> None:  # type: ignore[no-untyped-def]
    cli, _, _, site = faulty_history
    with sqlite3.connect(cli.db) as conn:
        kinds = conn.execute("select c.kind, v.number from changes c join versions v on v.id = c.reverts_to_version_id "
                             "where c.source_id='t/flip' order by c.id").fetchall()
        all_kinds = [k for (k,) in conn.execute("select kind from changes where source_id='t/flip' order by id")]
    assert all_kinds == ["substantive", "revert", "revert"]
    assert kinds == [("revert", 1), ("revert", 2)]
    feed = feedparser.parse((site / "feeds" / "changes.atom").read_bytes())
    assert not feed.bozo
    flip_entries = [e for e in feed.entries if "t/flip" in e.title or "t/flip" in e.link]
    assert len(flip_entries) == 1, [e.title for e in feed.entries]


def test_a_held_capture_is_announced_only_once_confirmed(faulty_history) -> None:  # type: ignore[no-untyped-def]
    cli, outputs, _, site = faulty_history
    assert "pending t/swap: held for confirmation" in outputs[1].stdout
    assert "pending t/glitch: held for confirmation" in outputs[1].stdout
    with sqlite3.connect(cli.db) as conn:
        detected, note = conn.execute("select detected_at, note from changes where source_id = 't/swap'").fetchone()
        first_seen = conn.execute("select first_seen from versions where source_id = 't/swap' and number = 2"
                                  ).fetchone()[0]
    assert detected.startswith("2026-03-03") and first_seen.startswith("2026-03-02")
    assert "confirmed by the fetch of 2026-03-03" in note
    titles = [e.title for e in feedparser.parse((site / "feeds" / "changes.atom").read_bytes()).entries]
    assert sum("t/swap" in t for t in titles) == 1 and not any("t/glitch" in t for t in titles)
    history = cli("history", "t/glitch").stdout
    assert "dropped" in history and "did not confirm it" in history
    runs = (site / "runs.html").read_text(encoding="utf-8")
    assert "Captures held for confirmation" in runs and "t/glitch" in runs
    # Held (t/shrink) and dropped (t/glitch) captures are whole records: pages and text, no version.
    assert "ok: 0 problem(s)" in cli("check").stdout


def test_a_source_that_keeps_reverting_is_unstable(faulty_history) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from storage.health import unstable_sources

    cli, _, _, _ = faulty_history
    engine = make_engine(f"sqlite:///{cli.db}")
    with transaction(session_factory(engine)) as session:
        now = datetime(2026, 3, 5, tzinfo=timezone.utc)
        assert unstable_sources(session, now, min_reverts=2) == {"t/flip": 2}
        assert unstable_sources(session, now) == {}
        assert unstable_sources(session, datetime(2026, 4, 1, tzinfo=timezone.utc), min_reverts=2) == {}
    engine.dispose()


def test_health_feed_has_one_entry_per_episode_and_recovery(faulty_history) -> None:  # type: ignore[no-untyped-def]
    _, _, _, site = faulty_history
    for name in ("health.atom", "health.rss"):
        feed = feedparser.parse((site / "feeds" / name).read_bytes())
        assert not feed.bozo, feed.bozo_exception
        titles = [e.title for e in feed.entries]
        cf403 = [t for t in titles if t.startswith("Testco — t/cf403:")]
        assert sorted(cf403) == ["Testco — t/cf403: failing since 2026-03-02 00:00 UTC (bot_challenge)",
                                 "Testco — t/cf403: recovered after 2 failed fetches"], titles
        # Every always-failing source once, never a source that did not fail twice in a row.
        assert sum("t/cf200:" in t for t in titles) == 1
        assert not [t for t in titles if "t/stable:" in t or "t/flip:" in t or "t/broken:" in t]
        assert len({e.id for e in feed.entries}) == len(feed.entries)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "failing since" in index and "unstable" not in index  # two reverts: not yet unstable


def test_retry_after_is_honoured(faulty_history) -> None:  # type: ignore[no-untyped-def]
    _, _, hits_429, _ = faulty_history
    assert len(hits_429) == 2, "one try and one retry"
    assert hits_429[1] - hits_429[0] >= 0.95


def test_failure_episodes_are_announced_once(faulty_history) -> None:  # type: ignore[no-untyped-def]
    cli, _, _, _ = faulty_history
    engine = make_engine(f"sqlite:///{cli.db}")
    with transaction(session_factory(engine)) as session:
        events = health_events(session, failing_after=2)
    engine.dispose()
    cf403 = [(e.kind, e.at.day) for e in events if e.source_id == "t/cf403"]
    assert cf403 == [("failing", 3), ("recovered", 4)]
    cf200 = [(e.kind, e.at.day) for e in events if e.source_id == "t/cf200"]
    assert cf200 == [("failing", 2)]
    assert not [e for e in events if e.source_id in ("t/stable", "t/flip", "t/broken")]


def test_private_addresses_are_refused_unless_allowed(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url,
                              [{"id": "t/intranet", "urls": ["/policy"], "select": "main"}])
    server.routes["/policy"] = Page(html("Internal."))
    cli = make_cli(decl)
    out = cli("crawl", check=False, env={"POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "false"})
    assert out.returncode == 2
    assert recorded(cli.db) == {"t/intranet": ["private_address"]}
    assert "/policy" not in server.hits
