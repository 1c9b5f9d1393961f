"""The Claims part of the report: index, claim pages, JSON, ClaimReview, links back, and the claims feeds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import pytest

from claims_support import HOSTILE_CLAIM, ClaimsCLI, import_record
from test_hostile_content import check_markup

BASE = "https://watch.example.org/pw/"
TEMPORARY = "acme/temporary-chats-deleted-after-30-days"


class Site:
    def __init__(self, cli: ClaimsCLI, out: Path):
        self.cli, self.out = cli, out

    def build(self, *extra: str) -> str:
        return self.cli("report", "--out", str(self.out), "--base-url", BASE, *extra).stdout

    def page(self, path: str) -> str:
        return (self.out / path).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("claims-report")
    built = Site(import_record(root), root / "site")
    built.build()
    return built


def json_ld(page: str) -> dict:  # type: ignore[type-arg]
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return json.loads(block)


def test_the_index_lists_every_claim_with_its_status_and_a_filter(site: Site) -> None:
    page = site.page("claims/index.html")
    rows = re.findall(r'<tr data-status="([a-z_]+)">.*?<a href="([^"]+)">', page, re.S)
    assert rows == [("weakened", f"../claims/{TEMPORARY}.html"), ("no_longer_stated", "../claims/acme/hostile.html"),
                    ("no_longer_stated", "../claims/acme/no-sale.html")]
    assert '<select id="status-filter" name="status">' in page and '<option value="weakened">weakened (1)</option>' in page
    assert '<script src="../static/claims.js"></script>' in page and (site.out / "static/claims.js").is_file()
    assert 'href="../feeds/claims.atom"' in page
    assert '<a href="../claims/index.html">Claims</a>' in page
    assert '<a href="claims/index.html">Claims</a>' in site.page("index.html")


def test_a_claim_page_says_why_and_since_when_with_the_evidence_and_its_versions(site: Site) -> None:
    page = site.page("claims/acme/no-sale.html")
    assert '<span class="badge status-no_longer_stated">no longer stated</span> since <time datetime="2026-03-03T06:00:00Z">' in page
    assert "The vendor&#39;s documents said it, and no longer do: the wording was reworded on 2026-03-03." in page
    assert re.search(r'said from <a href="../../versions/acme/privacy/1.html">v1</a> \(2026-03-01\)\s*'
                     r'to <a href="../../versions/acme/privacy/1.html">v1</a> \(2026-03-01\);\s*'
                     r'<a href="../../changes/\d+.html">reworded in v2</a> \(2026-03-03\)', page)
    assert "<q>We do not <mark>sell personal data</mark>.</q>" in page
    assert '<h2 id="successors-h">Replaced by</h2>' in page and "<q>We do not sell or share personal data.</q>" in page
    assert '<section aria-labelledby="coverage-h" id="press-coverage" class="coverage">' in page
    assert re.search(r'<details class="suggestions">\s*<summary>Related sentences \(suggestions, not evidence\)</summary>',
                     page), "collapsed, and labelled as suggestions"
    temporary = site.page(f"claims/{TEMPORARY}.html")
    assert "<mark>We keep a copy for up to 90 days</mark>" in temporary
    assert "does not say all the claim says: names &#39;90 days&#39;, expected at most 30 days" in temporary
    assert "still current" in temporary and "supported → <span class=\"badge status-weakened\">weakened</span>" in temporary


def test_claim_review_json_ld_and_the_json_file(site: Site) -> None:
    review = json_ld(site.page(f"claims/{TEMPORARY}.html"))
    assert review["@context"] == "https://schema.org" and review["@type"] == "ClaimReview"
    assert review["url"] == f"{BASE}claims/{TEMPORARY}.html"
    assert review["claimReviewed"] == "Acme AI deletes temporary chats after 30 days."
    assert review["itemReviewed"]["@type"] == "Claim"
    assert review["itemReviewed"]["author"] == {"@type": "Organization", "name": "Acme AI"}
    assert review["itemReviewed"]["appearance"] == [{"@type": "CreativeWork", "url": "https://acme.example/help"}]
    assert review["reviewRating"]["@type"] == "Rating" and review["reviewRating"]["alternateName"] == "weakened"
    assert review["dateModified"] == "2026-03-02"
    hostile = json_ld(site.page("claims/acme/hostile.html"))
    assert hostile["claimReviewed"] == HOSTILE_CLAIM["statement"]["en"]
    assert hostile["itemReviewed"]["firstAppearance"] == {
        "@type": "CreativeWork", "url": HOSTILE_CLAIM["first_appearance"]["url"], "datePublished": "2025-01-01",
        "name": "<i>a title</i>"}
    data = json.loads((site.out / "claims/acme/no-sale.json").read_text(encoding="utf-8"))
    shown = json.loads(site.cli("claims", "show", "acme/no-sale", "--json").stdout)
    assert shown["declared_in"].endswith("/claims.yaml")
    # The same but where the claim was declared: the file's name, not the publisher's folder.
    assert data == shown | {"page": f"{BASE}claims/acme/no-sale.html", "declared_in": "claims.yaml"}


def test_hostile_claim_and_page_text_appear_only_as_text(site: Site) -> None:
    page = site.page("claims/acme/hostile.html")
    text = check_markup("claims/acme/hostile.html", page, scripts_allowed=False)
    for shown in ("Acme keeps <script>alert('claim')</script> logs </script> briefly & safely.",
                  "Someone <img src=x onerror=alert(2)>", "<style>body{display:none}</style>", "<i>a title</i>"):
        assert shown in text
    assert page.count("</script>") == 1, "only the JSON-LD block's own end tag"
    feed = (site.out / "feeds/claims.atom").read_bytes()
    assert b"<script" not in feed and not feedparser.parse(feed).bozo


def test_version_and_change_pages_link_to_the_claims_they_bear_on(site: Site) -> None:
    version = site.page("versions/acme/help/1.html")
    assert (f'<li><a href="../../../claims/{TEMPORARY}.html">Acme AI deletes temporary chats after 30 days.</a> '
            f'<span class="muted">(a supporting sentence is here)</span></li>') in version
    change = next(p for p in (site.out / "changes").glob("*.html") if "acme/help" in p.read_text(encoding="utf-8"))
    links = re.findall(r'<a href="../claims/([^"]+)\.html">[^<]*</a> <span class="muted">\((.*?)\)</span>',
                       change.read_text(encoding="utf-8"))
    assert links == [(TEMPORARY, "a supporting sentence appeared"), (TEMPORARY, "a supporting sentence ended (reworded)"),
                     (TEMPORARY, "status supported → weakened")]


def test_feeds_announce_each_vendor_caused_status_change_once_with_stable_ids(site: Site) -> None:
    feed = feedparser.parse((site.out / "feeds/claims.atom").read_bytes())
    ids = [e.id for e in feed.entries]
    assert ids == [
        "tag:policywatch,2026:claim/acme/hostile/no_longer_stated/20260303T060000Z/acme/privacy/2",
        "tag:policywatch,2026:claim/acme/no-sale/no_longer_stated/20260303T060000Z/acme/privacy/2",
        f"tag:policywatch,2026:claim/{TEMPORARY}/weakened/20260302T060000Z/acme/help/2",
    ]
    weakened = feed.entries[-1]
    assert weakened.title == "Acme AI: “Acme AI deletes temporary chats after 30 days.” — supported → weakened"
    assert weakened.link == f"{BASE}claims/{TEMPORARY}.html#at-20260302T060000Z-weakened"
    body = weakened.content[0].value
    assert "<q>We keep a copy for up to 30 days to monitor for abuse, then delete it.</q>" in body
    assert "<q>We keep a copy for up to 90 days to monitor for abuse, then delete it.</q>" in body
    assert 'id="at-20260302T060000Z-weakened"' in site.page(f"claims/{TEMPORARY}.html")
    rss = feedparser.parse((site.out / "feeds/claims.rss").read_bytes())
    assert [e.id for e in rss.entries] == ids
    own = feedparser.parse((site.out / f"feeds/claims/{TEMPORARY}.atom").read_bytes())
    assert [e.id for e in own.entries] == ids[-1:]
    before = {p: p.read_bytes() for p in (site.out / "feeds").rglob("claims*") if p.is_file()}
    before.update({p: p.read_bytes() for p in (site.out / "feeds/claims").rglob("*") if p.is_file()})
    inodes = {p: p.stat().st_ino for p in (site.out / "claims").rglob("*") if p.is_file()}
    site.build()
    assert {p: p.stat().st_ino for p in inodes} == inodes, "an unchanged record rewrites no claim file"
    site.build("--full")
    assert {p: p.read_bytes() for p in before} == before, "a full rebuild gives the same feeds"
