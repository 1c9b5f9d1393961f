"""Claims evaluated by the real commands: crawls of a vendor served on 127.0.0.1, re-extraction, claims-file edits.

Each test is a few simulated nights of `policywatch crawl --now …` (a
subprocess each, the real spider), read back through `policywatch claims …
--json` and the database.
"""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from claims_support import CLAIMS, ClaimsCLI, help_page, privacy_page, sources, write_claims
from policywatch.localserver import LocalServer, Page

TEMPORARY = "acme/temporary-chats-deleted-after-30-days"
SALE = "acme/no-sale"


def night(cli: ClaimsCLI, n: int, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    return cli("crawl", "--now", f"2026-03-0{n}T06:00:00Z", *args, check=check)


@pytest.fixture
def vendor(tmp_path: Path, server: LocalServer) -> ClaimsCLI:
    server.routes.update({"/help": Page(help_page(30)), "/privacy": Page(privacy_page())})
    return ClaimsCLI(tmp_path, sources(tmp_path, server.base_url), write_claims(tmp_path / "claims.yaml"))


def test_a_source_failing_for_nights_changes_no_status(vendor: ClaimsCLI, server: LocalServer) -> None:
    night(vendor, 1)
    assert vendor.statuses() == {TEMPORARY: "supported", SALE: "supported"}
    server.routes["/help"] = Page(b"<html><body>Service unavailable</body></html>", status=503)
    for n in (2, 3):
        out = night(vendor, n, check=False)
        assert out.returncode == 1 and "acme/help" in out.stdout
    assert vendor.statuses() == {TEMPORARY: "supported", SALE: "supported"}
    shown = vendor.show(TEMPORARY)
    assert [e["status"] for e in shown["timeline"]] == ["supported"]
    assert [u["source"] for u in shown["unconfirmed"]] == ["acme/help"], "two failed nights: failing, said so"
    (evidence,) = shown["evidence"]
    assert evidence["ended"] is None and evidence["current"]
    assert evidence["last_confirmed"] == "2026-03-01T06:00:00Z", "not confirmed while failing"
    server.routes["/help"] = Page(help_page(30))
    night(vendor, 4)
    assert vendor.timeline(TEMPORARY) == [("2026-03-01T06:00:00Z", "supported", False)]
    assert vendor.show(TEMPORARY)["evidence"][0]["last_confirmed"] == "2026-03-04T06:00:00Z"


def test_the_vendor_s_wording_is_news_a_change_in_what_is_tracked_is_not(vendor: ClaimsCLI, server: LocalServer,
                                                                          tmp_path: Path) -> None:
    night(vendor, 1)
    server.routes["/help"] = Page(help_page(90))
    out = night(vendor, 2)
    assert f"claims: {TEMPORARY}: supported → weakened (acme/help v2, 2026-03-02T06:00:00Z)" in out.stdout
    assert "  was: “We keep a copy for up to 30 days to monitor for abuse, then delete it.”" in out.stdout
    assert "  now: “We keep a copy for up to 90 days to monitor for abuse, then delete it.”" in out.stdout
    # The help article moves to an address whose page lacks the sentence, and the privacy policy is withdrawn.
    server.routes["/help/moved"] = Page(help_page(90).replace(
        b"We keep a copy for up to 90 days to monitor for abuse, then delete it.",
        b"How long copies are kept is explained on the page about our data retention rules."))
    vendor.sources = sources(tmp_path, server.base_url, help_path="/help/moved", privacy=False, name="moved.yaml")
    night(vendor, 3)
    assert vendor.timeline(TEMPORARY) == [("2026-03-01T06:00:00Z", "supported", False),
                                          ("2026-03-02T06:00:00Z", "weakened", True),
                                          ("2026-03-03T06:00:00Z", "tracking_changed", False)]
    assert vendor.timeline(SALE) == [("2026-03-01T06:00:00Z", "supported", False),
                                     ("2026-03-03T06:00:00Z", "tracking_changed", False)]
    ends = {e["source"]: e["ended"]["reason"] for c in (TEMPORARY, SALE) for e in vendor.show(c)["evidence"]
            if e["ended"] and e["last_version"]["number"] == (2 if e["source"] == "acme/help" else 1)}
    assert ends == {"acme/help": "tracking_changed", "acme/privacy": "source_undeclared"}
    assert vendor.sql("select source_id, kind, version from tracking_changes order by source_id") == [
        ("acme/help", "declaration_changed", 3), ("acme/privacy", "undeclared", None)]
    vendor("report", "--out", str(tmp_path / "site"), "--base-url", "https://example.org/pw/")
    feed = feedparser.parse((tmp_path / "site" / "feeds" / "claims.atom").read_bytes())
    assert not feed.bozo
    assert [e.id for e in feed.entries] == [
        f"tag:policywatch,2026:claim/{TEMPORARY}/weakened/20260302T060000Z/acme/help/2"]


def test_reextraction_with_a_new_selector_is_a_tracking_change(vendor: ClaimsCLI, server: LocalServer,
                                                                tmp_path: Path) -> None:
    # A long closing paragraph keeps the narrowed text above the too-short guard's half of the version.
    server.routes["/help"] = Page(help_page(30, extra="Questions about chats, exports and your account settings "
                                                      "are answered by our support team on weekdays, and "
                                                      "answers are usually sent within two working days."))
    night(vendor, 1)
    vendor.sources = sources(tmp_path, server.base_url, select="main h1, main p:first-of-type, main p:last-of-type",
                             name="narrow.yaml")
    out = vendor("reextract", "--only", "acme/help", "--now", "2026-03-02T06:00:00Z")
    assert "acme/help: new version 2 (technical change, not announced)" in out.stdout
    assert f"claims: {TEMPORARY}: supported → tracking changed — needs review (acme/help v2, " in out.stdout
    assert vendor.timeline(TEMPORARY)[-1] == ("2026-03-02T06:00:00Z", "tracking_changed", False)
    assert vendor.show(SALE)["timeline"][-1]["status"] == "supported", "the other source was not touched"


def test_a_claims_file_edit_reevaluates_history_and_announces_nothing(vendor: ClaimsCLI, server: LocalServer,
                                                                       tmp_path: Path) -> None:
    night(vendor, 1)
    server.routes["/privacy"] = Page(privacy_page("We do not sell or share personal data."))
    night(vendor, 2)
    assert vendor.timeline(SALE) == [("2026-03-01T06:00:00Z", "supported", False),
                                     ("2026-03-02T06:00:00Z", "no_longer_stated", True)]
    edited = [dict(c) for c in CLAIMS]
    edited[1] = {**CLAIMS[1], "evidence": {"supports": [{
        "id": "does-not-sell", "expect": {"polarity": "negated"},
        "en": {"patterns": [r"\bsell (?:or share )?personal data\b"]}}]}}
    edited[0] = {**CLAIMS[0], "evidence": {"supports": [{
        **CLAIMS[0]["evidence"]["supports"][0], "expect": {"max_days": 10}}]}}
    write_claims(vendor.claims_file, edited)
    listed = vendor("claims", check=False)
    assert "changed since the record was last evaluated" in listed.stderr
    out = vendor("claims", "evaluate")
    assert (f"claims: {SALE}: history evaluated again (declaration changed): no longer stated → supported, "
            f"0 events found, 1 withdrawn (not announced)") in out.stdout
    sale = vendor.show(SALE)
    assert [(e["status"], e["announce"]) for e in sale["timeline"]] == [("supported", False)]
    assert [e["status"] for e in sale["withdrawn_events"]] == ["no_longer_stated"]
    assert [r["reason"] for r in sale["revisions"]][-1] == "declaration_changed"
    temporary = vendor.show(TEMPORARY)
    assert [(e["status"], e["announce"], e["reevaluated_at"] is not None) for e in temporary["timeline"]] == [
        ("weakened", False, True)], "found by the re-evaluation: shown, never announced"
    vendor("report", "--out", str(tmp_path / "site"))
    assert feedparser.parse((tmp_path / "site" / "feeds" / "claims.atom").read_bytes()).entries == []
    revisions = vendor.sql("select count(*) from claim_revisions")
    night(vendor, 3)
    assert vendor.sql("select count(*) from claim_revisions") == revisions, "the next run finds them synchronised"


def test_a_night_evaluates_only_the_claims_of_the_source_that_changed(vendor: ClaimsCLI, server: LocalServer) -> None:
    night(vendor, 1)
    server.routes["/privacy"] = Page(privacy_page("We never sell personal data to anyone."))
    night(vendor, 2)
    (run,) = vendor.sql("select id from runs where started_at like '2026-03-02%'")
    rows = vendor.sql("select kind, versions, claims_read from claim_evaluations where run_id = ?", run[0])
    assert rows == [("incremental", 1, f'["{SALE}"]')]
    updated = dict(vendor.sql("select claim_id, updated_at from claim_states"))
    assert updated[TEMPORARY].startswith("2026-03-01") and updated[SALE].startswith("2026-03-02")
    assert vendor.show(TEMPORARY)["evidence"][0]["last_confirmed"] == "2026-03-02T06:00:00Z"
    assert [e["status"] for e in vendor.show(SALE)["timeline"]] == ["supported"], "reworded, still supported"


def test_matching_that_runs_out_of_time_fails_that_claim_only(vendor: ClaimsCLI, server: LocalServer) -> None:
    slow = {"id": "acme/slow", "vendor": "Acme AI", "statement": {"en": "A claim whose rule backtracks badly."},
            "scope": ["acme/help"],
            "evidence": {"supports": [{"id": "backtracks", "en": {"patterns": [r"(?:a|aa)+\d"]}}]}}
    write_claims(vendor.claims_file, CLAIMS + [slow])
    server.routes["/help"] = Page(help_page(30, extra="a" * 40 + "!"))
    out = vendor("crawl", "--now", "2026-03-01T06:00:00Z", env={"POLICYWATCH_CLAIM_TIME_LIMIT": "0.2"})
    assert "claims: acme/slow: not evaluated on acme/help v1: matching ran over its 0.2 s limit" in out.stdout
    assert vendor.statuses() == {TEMPORARY: "supported", SALE: "supported", "acme/slow": "not tracked"}
    assert vendor.sql("select claim_id, source_id, version, matcher_id from claim_errors") == [
        ("acme/slow", "acme/help", 1, "backtracks")]


def test_a_bad_claims_file_stops_the_command_before_it_records(vendor: ClaimsCLI) -> None:
    bad = [dict(CLAIMS[0], topics=["retention", "astrology"])]
    write_claims(vendor.claims_file, bad)
    for command in (("crawl", "--now", "2026-03-01T06:00:00Z"), ("claims", "evaluate")):
        out = vendor(*command, check=False)
        assert out.returncode == 2
        errors = [line for line in out.stderr.splitlines() if "creating database schema" not in line]
        assert len(errors) == 1 and errors[0].startswith(f"policywatch: {vendor.claims_file}: claim '{TEMPORARY}': "
                                                         f"field 'topics': 'astrology' is not a flag category")
    assert vendor.sql("select count(*) from runs") == [(0,)]
