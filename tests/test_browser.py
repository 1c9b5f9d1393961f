"""The demo's report in headless Chromium: the diff is visible, the views switch, nothing errs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path(os.environ.get("POLICYWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the installation
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    if sync_playwright is None:
        pytest.skip("playwright is not installed: pip install 'playwright>=1.45,<2'")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set POLICYWATCH_TEST_CHROMIUM)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    for args in (["demo", "--dir", str(root / "demo")],
                 ["--db", str(root / "demo/policywatch.db"), "report", "--out", str(root / "site")]):
        done = subprocess.run([sys.executable, "-m", "policywatch", *args], capture_output=True, text=True,
                              timeout=300, cwd=root, env=env)
        assert done.returncode == 0, done.stderr
    return root / "site"


class Console:
    """Every console error and uncaught exception of a page."""

    def __init__(self, page: "Page"):
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _message(self, message: "ConsoleMessage") -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")


def test_index_and_change_page_show_the_diff_and_switch_views(browser: "Browser", demo_site: Path,
                                                              tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    page.goto((demo_site / "index.html").as_uri())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Changes in what vendors say about user data")
    changes = page.locator("ul.changes a")
    expect(changes).to_have_count(2)
    changes.filter(has_text="Help: how long are my chats kept?").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+\.html$"))
    inline = page.locator("#inline")
    expect(inline).to_be_visible()
    expect(inline.locator("del", has_text="30")).to_be_visible()
    expect(inline.locator("ins", has_text="90")).to_be_visible()
    side = page.locator("#side-by-side table.sbs")
    expect(side).to_be_hidden()
    page.screenshot(path=str(tmp_path / "change-inline.png"), full_page=True)

    page.get_by_role("link", name="Side by side").click()
    expect(side).to_be_visible()
    expect(inline).to_be_hidden()
    expect(side.locator("td.old del", has_text="30")).to_be_visible()
    expect(side.locator("td.new ins", has_text="90")).to_be_visible()
    page.screenshot(path=str(tmp_path / "change-side-by-side.png"), full_page=True)
    page.get_by_role("link", name="Inline", exact=True).click()
    expect(inline).to_be_visible()
    expect(side).to_be_hidden()

    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(inline.locator("ins", has_text="90")).to_be_visible()
    page.emulate_media(media="screen")

    assert console.errors == []
    for name in ("change-inline.png", "change-side-by-side.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_compare_form_diffs_two_versions_in_the_page(browser: "Browser", demo_site: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    page.goto((demo_site / "sources/nimbus/privacy-policy/index.html").as_uri())
    page.get_by_label("Older version").select_option("1")
    page.get_by_label("Newer version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    result = page.locator(".compare-result")
    expect(result.locator("h3")).to_contain_text("Version 1 → version 2")
    expect(result.locator("#compare-inline del", has_text="do not")).to_be_visible()
    expect(result.locator("#compare-inline ins", has_text="may")).to_be_visible()
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert console.errors == []


@pytest.mark.parametrize("path", ["index.html", "sources/nimbus/privacy-policy/index.html"])
def test_pages_fit_a_phone_screen(browser: "Browser", demo_site: Path, tmp_path: Path, path: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    console = Console(page)
    page.goto((demo_site / path).as_uri())
    overflow: Any = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone (wide tables must scroll inside their box)"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert console.errors == []


def test_a_change_page_on_a_phone_says_what_changed_stacks_side_by_side_and_has_an_icon(
        browser: "Browser", demo_site: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    console = Console(page)
    page.goto((demo_site / "index.html").as_uri())
    page.locator("ul.changes a", has_text="how long are my chats kept?").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+\.html$"))
    # The summary the change was analysed with, not a word count, and no "kept?:".
    assert re.fullmatch(r"Nimbus AI — Help: how long are my chats kept\? .*30.*→.*90.* \[(high|medium|low)\] "
                        r"\(v1 → v2\) · policywatch", page.title()), page.title()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nimbus AI — Help: how long are my chats kept? v1 → v2")

    page.get_by_role("link", name="Side by side").click()
    side = page.locator("#side-by-side table.sbs")
    expect(side).to_be_visible()
    overflow: Any = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the side by side view scrolls sideways on a phone"
    row = side.locator("tr.changed").filter(has=page.locator("td.old del", has_text="30")).first
    old, new = row.locator("td.old").bounding_box(), row.locator("td.new").bounding_box()
    assert old is not None and new is not None
    assert new["y"] >= old["y"] + old["height"] - 1, "the new wording is below the old one"
    assert abs(new["x"] - old["x"]) < 2 and old["width"] > 300, "each takes the screen's width"
    page.screenshot(path=str(tmp_path / "phone-side-by-side.png"), full_page=True)

    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    page.goto(page.url.rsplit("/", 1)[0] + "/" + icon)
    assert page.evaluate("document.documentElement.tagName") == "svg"
    assert console.errors == []


def test_a_version_page_shows_its_as_of_dates_its_text_rendered_and_its_markdown(
        browser: "Browser", demo_site: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    # Recorded from before the page's own scripts run: any CSP violation, whatever logs it.
    page.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation',"
                         " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page.goto((demo_site / "versions/nimbus/privacy-policy/1.html").as_uri())
    as_of = page.locator("section.as-of")
    expect(as_of.locator("dl")).to_contain_text("First seen2026-01-01T06:00:00Z")
    expect(as_of.locator("dl")).to_contain_text("Last confirmed2026-01-03T06:00:00Z")
    expect(as_of.locator("dl")).to_contain_text("In forcein force until 2026-01-04T06:00:00Z (version 2 first seen)")
    expect(as_of.locator(".as-of-sentence")).to_have_text(
        "As of 2026-01-03T06:00:00Z, this text was in force (confirmed by 3 fetches from 2026-01-01T06:00:00Z "
        "to 2026-01-03T06:00:00Z).")
    expect(as_of.locator("pre.citation")).to_contain_text("last confirmed 2026-01-03T06:00:00Z")
    confirmations = page.locator("table.confirmations tbody tr")
    expect(confirmations).to_have_count(2)
    raw = confirmations.first.get_by_role("link", name="download").get_attribute("href")
    assert raw is not None and (demo_site / "versions/nimbus/privacy-policy" / raw).resolve().is_file()

    text = page.locator(".policy-text")
    expect(text.get_by_role("heading", level=3)).to_have_text("Privacy Policy")
    expect(text.get_by_role("heading", level=4)).to_have_count(4)
    expect(text.locator("ul li strong").first).to_have_text("Account information:")
    settings = text.get_by_role("link", name="Settings → Data controls")
    expect(settings).to_have_attribute("rel", "nofollow noopener")
    expect(settings).to_have_attribute("href", re.compile(r"^http://127\.0\.0\.1:\d+/settings/data-controls$"))

    plain = page.locator("details.plain-text pre")
    expect(plain).to_be_hidden()
    page.locator("details.plain-text summary").click()
    expect(plain).to_be_visible()
    stored = plain.inner_text()
    assert stored.startswith("# Privacy Policy\n")
    markdown = page.get_by_role("link", name="1.md")
    href = markdown.get_attribute("href")
    assert href is not None
    assert (demo_site / "versions/nimbus/privacy-policy" / href).resolve().read_text(encoding="utf-8").strip() \
        == stored.strip()
    page.screenshot(path=str(tmp_path / "version.png"), full_page=True)
    assert page.evaluate("window.cspViolations") == []

    page.goto((demo_site / "versions/nimbus/privacy-policy/2.html").as_uri())
    expect(page.locator("section.as-of dl")).to_contain_text("In forcecurrent (last checked 2026-01-04T06:00:00Z)")
    expect(page.locator("section.as-of .as-of-sentence")).to_contain_text("confirmed by 1 fetch from")
    assert page.evaluate("window.cspViolations") == []
    with page.expect_navigation():
        page.get_by_role("link", name="2.md").click()
    assert page.url.endswith("/versions/nimbus/privacy-policy/2.md")
    assert page.locator("body").inner_text().startswith("# Privacy Policy")
    assert console.errors == []
