"""The index and source pages of a record with noise: announced changes first, a switch for the rest,
filters by vendor, flag, severity and kind, reverts naming their version, and the timeline pictures.

The record is made by real crawls of a local server: Testco's policy changes (flagged), goes back to its
first wording (a revert) and then changes only its punctuation (formatting); Otherco's terms change once
and then fail to fetch twice. The browser tests open the built site from file:// in a real Chromium.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from conftest import CLI, write_declarations
from policywatch.localserver import LocalServer, Page
from reports.site import build_site
from storage.db import make_engine, session_factory
from test_browser import Console, browser  # noqa: F401  (the browser fixture)

FILLER = "".join(f"<p>Section {n}: this paragraph about topic {n} does not change between editions.</p>"
                 for n in range(1, 9))
FIRST = "<p>We keep chats for 30 days.</p>"
TRAINING = "<p>We keep chats for 90 days.</p><p>We may use your chats to train our models.</p>"
PUNCTUATED = "<p>We keep chats for 30 days!</p>"


def page(body: str, title: str = "Testco Privacy Policy") -> bytes:
    return f"<html><body><main><h1>{title}</h1>{FILLER}{body}</main></body></html>".encode()


POLICY = {1: page(FIRST), 2: page(TRAINING), 3: page(FIRST), 4: page(PUNCTUATED)}
TERMS = {1: page("<p>We do not sell personal data.</p>", "Otherco Terms"),
         2: page("<p>We share personal data with our advertising partners.</p>", "Otherco Terms")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CLI]]:
    root = tmp_path_factory.mktemp("noise")
    with LocalServer() as server:
        decl = write_declarations(root / "sources.yaml", server.base_url, [
            {"id": "t/policy", "title": "Privacy Policy", "urls": ["/policy"], "select": "main"},
            {"id": "o/terms", "vendor": "Otherco", "title": "Terms", "document_type": "Terms of Service",
             "urls": ["/terms"], "select": "main"},
        ])
        cli = CLI(root / "policywatch.db", decl, root)
        for day in (1, 2, 3, 4):
            server.routes.clear()
            server.routes["/policy"] = Page(POLICY[day])
            server.routes["/terms"] = Page(TERMS[day]) if day in TERMS else Page(b"oops", status=500)
            cli("crawl", "--now", f"2026-03-0{day}T06:00:00Z", check=False)
    engine = make_engine(f"sqlite:///{cli.db}")
    try:
        build_site(session_factory(engine), root / "site", "https://watch.example.org/")
    finally:
        engine.dispose()
    yield root / "site", cli


def test_the_record_has_the_noise_this_file_is_about(site: tuple[Path, CLI]) -> None:
    _, cli = site
    kinds = [(c["source"], c["kind"], c["reverts_to_version"]) for c in cli.json("changes")]
    assert sorted(kinds) == [("o/terms", "substantive", None), ("t/policy", "formatting", None),
                             ("t/policy", "revert", 1), ("t/policy", "substantive", None)]
    history = cli.json("history", "t/policy")
    assert [v["change"] and v["change"]["reverts_to_version"] for v in history["versions"]] == [None, None, 1, None]
    assert "revert to v1: " in cli("history", "t/policy").stdout
    assert re.search(r"v2→v3  revert to v1  ", cli("changes").stdout)


def _items(html: str, list_id: str) -> list[str]:
    body = html.split(f'id="{list_id}"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<li[^>]*>", body)


def test_the_index_lists_announced_changes_and_hides_the_others_until_switched_on(site: tuple[Path, CLI]) -> None:
    out, _ = site
    index = (out / "index.html").read_text(encoding="utf-8")
    items = _items(index, "latest-changes")
    assert len(items) == 4
    assert sum(1 for i in items if 'data-announced="yes"' in i and " hidden" not in i) == 2
    assert all(" hidden" in i for i in items if 'data-announced="no"' in i), "hidden without script"
    assert 'href="changes.html"' in index, "without script, all latest changes are a link away"
    everything = _items((out / "changes.html").read_text(encoding="utf-8"), "all-changes")
    assert len(everything) == 4 and not any(" hidden" in i for i in everything)
    assert '<script src="static/changes.js">' in index and "<script>" not in index and " style=" not in index


def test_a_revert_names_the_version_it_returns_to_and_links_it(site: tuple[Path, CLI]) -> None:
    out, cli = site
    (revert,) = [c["id"] for c in cli.json("changes") if c["kind"] == "revert"]
    pages = {"index.html": 'href="versions/t/policy/1.html">v1</a>',
             "changes.html": 'href="versions/t/policy/1.html">v1</a>',
             "sources/t/policy/index.html": 'href="../../../versions/t/policy/1.html">v1</a>',
             f"changes/{revert}.html": 'href="../versions/t/policy/1.html">v1</a>'}
    for path, link in pages.items():
        html = (out / path).read_text(encoding="utf-8")
        assert f'<span class="reverts">reverts to <a {link}</span>' in html, path


def test_timeline_strips_and_month_grids_are_in_the_pages(site: tuple[Path, CLI]) -> None:
    out, _ = site
    index = (out / "index.html").read_text(encoding="utf-8")
    strips = re.findall(r'<svg class="timeline small".*?</svg>', index, re.S)
    assert len(strips) == 2
    policy, terms = sorted(strips, key=lambda s: "o/terms" in s or "Otherco" in s)
    assert policy.count("<a href=") == 4 and "tl-revert" in policy and "tl-failure" not in policy
    assert 'class="tl-failure"' in terms and terms.count('href="runs.html"') == 2, "two failed checks"
    assert "check failed (http" in terms
    source = (out / "sources/t/policy/index.html").read_text(encoding="utf-8")
    assert source.count('<svg class="timeline large"') == 1
    assert 'href="../../../versions/t/policy/1.html"><title>v1, first seen 2026-03-01 06:00 UTC</title>' in source
    vendor = (out / "vendors/otherco.html").read_text(encoding="utf-8")
    assert 'title="Terms, 2026-03: 1 change; 1 announced, highest severity' in vendor and "2 failed checks" in vendor
    assert 'href="vendors/otherco.html"' in index and 'href="vendors/testco.html"' in index


def _shown(page: "object") -> int:
    return page.locator("#latest-changes > li:visible").count()  # type: ignore[attr-defined]


@pytest.mark.browser
def test_the_switch_and_each_filter_narrow_the_index_from_file(browser: "object", site: tuple[Path, CLI]) -> None:
    out, _ = site
    page = browser.new_page()  # type: ignore[attr-defined]
    console = Console(page)
    page.goto((out / "index.html").as_uri())
    form = page.locator("form.change-filter")
    assert form.is_visible()
    assert _shown(page) == 2
    switch = form.get_by_label("also changes not announced in feeds", exact=False)
    switch.check()
    assert _shown(page) == 4
    form.get_by_label("Kind").select_option("revert")
    assert _shown(page) == 1
    assert page.locator("#latest-changes > li:visible").inner_text().count("reverts to v1") == 1
    form.get_by_label("Kind").select_option("")
    form.get_by_label("Vendor").select_option("Otherco")
    assert _shown(page) == 1
    form.get_by_label("Vendor").select_option("")
    form.get_by_label("Flag").select_option("training")
    assert _shown(page) == 2, "the change that added the training sentence, and the revert that removed it"
    form.get_by_label("Flag").select_option("sharing")
    assert _shown(page) == 1
    form.get_by_label("Flag").select_option("")
    form.get_by_label("Severity").select_option("none")
    assert _shown(page) == 1, "the punctuation"
    form.get_by_label("Severity").select_option("high")
    assert _shown(page) == 3
    switch.uncheck()
    assert _shown(page) == 2
    assert "2 of 4 shown (2 not announced, hidden)" in form.locator(".change-count").inner_text()
    assert console.errors == [], "no CSP violation or script error"


@pytest.mark.browser
def test_source_page_filters_its_versions_and_draws_its_strip(browser: "object", site: tuple[Path, CLI]) -> None:
    out, _ = site
    page = browser.new_page()  # type: ignore[attr-defined]
    console = Console(page)
    page.goto((out / "sources/t/policy/index.html").as_uri())
    rows = page.locator("#versions > tr:visible")
    assert rows.count() == 4, "a source page lists every version by default"
    form = page.locator("form.change-filter")
    form.get_by_label("also changes not announced in feeds", exact=False).uncheck()
    assert rows.count() == 2, "the first version and the announced change"
    form.get_by_label("Kind").select_option("substantive")
    assert rows.count() == 1
    marks = page.locator("svg.timeline.large a")
    assert marks.count() == 4
    box = page.locator("svg.timeline.large").bounding_box()
    assert box is not None and box["width"] > 300
    page.locator("svg.timeline.large a").last.click()
    assert re.search(r"/changes/\d+\.html$", page.url)
    assert console.errors == [], "no CSP violation or script error"


def _cells(html: str) -> list[str]:
    return re.findall(r'<td class="heat-cell[^"]*"[^>]*>(.*?)</td>', html, re.S)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_month_grid_cell_says_its_month_in_words_and_links_to_it(site: tuple[Path, CLI]) -> None:
    out, cli = site
    (terms_change,) = [c["id"] for c in cli.json("changes") if c["source"] == "o/terms"]
    pages = {"vendors/otherco.html": ("document-month-1-2026-03", "Terms, 2026-03"),
             "index.html": ("vendor-month-1-2026-03", "Otherco, 2026-03")}
    for path, (anchor, lead) in pages.items():
        html = (out / path).read_text(encoding="utf-8")
        cells = _cells(html)
        assert len(cells) == 12 * (1 if path.startswith("vendors/") else 2), path
        assert all('<span class="visually-hidden">' in cell for cell in cells), "every cell in words, not in a title"
        assert sum('class="visually-hidden">no change</span>' in cell for cell in cells) == len(cells) - (
            1 if path.startswith("vendors/") else 2)
        words = f"{lead}: 1 change; 1 announced, highest severity high; 2 failed checks"
        (active,) = [c for c in cells if f'href="#{anchor}"' in c]
        assert f'<span class="visually-hidden">{words}</span>' in active
        glyphs = '<span aria-hidden="true">1<span class="heat-letter">H</span><span class="heat-fail">✗</span></span>'
        assert glyphs in active, "the number, letter and mark stay for sight, hidden from screen readers"
        entry = html.split(f'<li id="{anchor}" tabindex="-1">', 1)[1].split("</li>\n", 1)[0]
        assert _text(entry).startswith("2026-03 : 1 change; 1 announced, highest severity high; 2 failed checks"), entry
        if path.startswith("vendors/"):
            assert f'<a href="../changes/{terms_change}.html">v1 → v2, 2026-03-02 06:00 UTC: substantive' in entry
        assert " style=" not in html and "<script>" not in html


def _colour(css: str) -> tuple[float, float, float]:
    """An sRGB colour as Chromium computes it: rgb(…), rgba(…) or color(srgb …), in 0–1."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    return tuple(n / 255 for n in numbers) if css.startswith("rgb") else tuple(numbers)  # type: ignore[return-value]


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    def luminance(c: tuple[float, float, float]) -> float:
        r, g, bl = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_month_grid_cell_is_read_out_and_tapped_open_on_a_phone(browser: "object", site: tuple[Path, CLI],
                                                                  scheme: str) -> None:
    out, _ = site
    phone = {"has_touch": True, "is_mobile": True, "viewport": {"width": 390, "height": 844}}
    context = browser.new_context(**phone, color_scheme=scheme)  # type: ignore[attr-defined]
    pages = [("vendors/testco.html", "Privacy Policy, 2026-03: 3 changes; 1 announced, highest severity high",
              "document-month-1-2026-03"),
             ("index.html", "Otherco, 2026-03: 1 change; 1 announced, highest severity high; 2 failed checks",
              "vendor-month-1-2026-03")]
    for path, words, anchor in pages:
        page = context.new_page()
        console = Console(page)
        page.goto((out / path).as_uri())
        assert page.get_by_role("cell", name=words, exact=True).count() == 1, "a screen reader reads the details"
        assert page.get_by_role("cell", name="no change", exact=True).count() >= 11
        hidden = page.locator("td.heat-cell .visually-hidden").first.bounding_box()
        assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1, "read out, not drawn"
        link = page.get_by_role("link", name=words, exact=True)
        text, background = link.evaluate(
            "a => [getComputedStyle(a).color, getComputedStyle(a.closest('td')).backgroundColor]")
        assert _contrast(_colour(text), _colour(background)) >= 4.5, (scheme, text, background)
        box = link.bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 20, "a target a finger can tap"
        link.tap()
        assert page.url.endswith(f"#{anchor}")
        target = page.locator(f"#{anchor}")
        assert target.is_visible() and words.split(": ", 1)[1] in target.inner_text()
        top = target.evaluate("li => li.getBoundingClientRect().top")
        # Scrolling to an anchor may stop a fraction of a pixel past it.
        assert -1 < top < 844, "scrolled to the month's words"
        if path.startswith("vendors/"):
            target.get_by_role("link", name=re.compile(r"^v1 → v2, 2026-03-02")).tap()
            page.wait_for_url(re.compile(r"/changes/\d+\.html$"), timeout=10_000)
        assert console.errors == [], "no CSP violation or script error"
        page.close()
    context.close()
