"""Large change pages and the compare form in headless Chromium, opened from file://.

A change with many flagged sentences and a moved paragraph: the summary and
the diff come before the evidence, each flag's evidence shows its first few
sentences and folds the rest, and the moved paragraph is shown once, as moved,
with links between its two places. The compare form offers side by side too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from test_browser import Console, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import Browser, expect
except ImportError:  # pragma: no cover - depends on the installation
    pass

HOSTILE = "<img src=x onerror=alert(1)>"
OLD = f"""# Privacy Policy

## Contact

Write to privacy@example.com with any question about this policy or about your personal data {HOSTILE}.

## What we collect

We collect the name and email address you give us when you sign up.

## Retention

We keep your chats for 30 days.

## Sharing

We share your personal data with our service providers.
"""
NEW = f"""# Privacy Policy

## What we collect

We collect the name and email address you give us when you sign up.

## Retention

We keep your chats for 90 days.

## Sharing

We share your personal data with our service providers.

We share your personal data with advertising partners.

We may share your chats with our affiliates.

We disclose your email address to marketing partners.

We share usage data with analytics providers.

We sell your personal data to data brokers.

We share your location with our business partners.

## Contact

Write to privacy@example.com with any question about this policy or about your personal data {HOSTILE}.
"""
DECLARATIONS = """sources:
  - id: testco/privacy
    vendor: Testco
    title: Privacy Policy
    document_type: Privacy Policy
    language: en
    urls: ["https://testco.example/privacy"]
"""


def policywatch(folder: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(folder / "pw.db"),
                           "--sources", str(folder / "sources.yaml"), "--claims", str(folder / "claims.yaml"), *args],
                          capture_output=True, text=True, timeout=300, cwd=folder, env=env)
    assert done.returncode == 0, done.stderr


def build(folder: Path, entries: list[dict[str, Any]]) -> Path:
    (folder / "sources.yaml").write_text(DECLARATIONS.replace("testco/privacy", entries[0]["source"]), encoding="utf-8")
    (folder / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    (folder / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    policywatch(folder, "import", "--manifest", str(folder / "manifest.jsonl"), "--allow-outside")
    policywatch(folder, "report", "--out", str(folder / "site"))
    return folder / "site"


@pytest.fixture(scope="module")
def large_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    (folder / "v1.md").write_text(OLD, encoding="utf-8")
    (folder / "v2.md").write_text(NEW, encoding="utf-8")
    return build(folder, [{"source": "testco/privacy", "at": "2026-01-01T00:00:00Z", "path": "v1.md"},
                          {"source": "testco/privacy", "at": "2026-02-01T00:00:00Z", "path": "v2.md"}])


def top(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


def test_a_large_change_leads_with_the_diff_folds_the_evidence_and_shows_the_move(
        browser: "Browser", large_site: Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    page.goto((large_site / "changes" / "1.html").as_uri())
    assert top(page, "dt:text-is('Summary')") < top(page, "#diff-h") < top(page, "#evidence-h")
    assert top(page, "#diff-h") < 900, "the diff starts on the first screen"

    sharing = page.locator("section.evidence-group", has=page.locator("h3", has_text="sharing"))
    expect(sharing.locator("h3")).to_contain_text("6 sentence(s)")
    expect(sharing.locator(":scope > ul > li")).to_have_count(3)
    # Ranked: the hedged statement before the plain ones; the last of the plain ones folded.
    expect(sharing.locator(":scope > ul > li").first).to_contain_text("We may share your chats")
    sold = sharing.locator("details.more li", has_text="We sell your personal data")
    expect(sold).to_be_hidden()
    sharing.locator("details.more > summary").click()
    expect(sold).to_be_visible()
    expect(sharing.locator("details.more > summary")).to_have_text("3 more sharing sentence(s)")
    retention = page.locator("section.evidence-group", has=page.locator("h3", has_text="retention"))
    expect(retention.locator("details.more")).to_have_count(0)

    inline = page.locator("#inline")
    went = inline.locator(".moved-new")
    expect(went).to_have_count(1)
    expect(went).to_contain_text("Write to privacy@example.com")
    expect(went.locator(".moved-note")).to_contain_text("moved from line 5 of v1")
    expect(inline.locator("del", has_text="Write to privacy")).to_have_count(0)
    expect(inline.locator("ins", has_text="Write to privacy")).to_have_count(0)
    inline.locator(".moved-old .moved-note a").click()
    expect(page).to_have_url(re.compile(r"#move-1-new$"))
    expect(went).to_be_in_viewport()
    expect(went).to_contain_text(HOSTILE)
    assert page.locator("main img").count() == 0, "text from the page is escaped"

    page.get_by_role("link", name="Side by side").click()
    side = page.locator("#side-by-side")
    expect(side.locator("tr.moved").first).to_be_visible()
    side.locator("tr.moved .moved-note a").first.click()
    expect(page).to_have_url(re.compile(r"#sbs-move-1-new$"))
    expect(side).to_be_visible()
    expect(inline).to_be_hidden()
    expect(side.locator("#sbs-move-1-new")).to_be_in_viewport()
    assert console.errors == []


def test_the_compare_form_shows_side_by_side_from_file_urls(browser: "Browser", large_site: Path) -> None:  # noqa: F811
    source_page = (large_site / "sources" / "testco" / "privacy" / "index.html").as_uri()
    for width in (1100, 390):
        page = browser.new_page(viewport={"width": width, "height": 844})
        console = Console(page)
        page.goto(source_page)
        page.get_by_label("Older version").select_option("1")
        page.get_by_label("Newer version").select_option("2")
        page.get_by_role("button", name="Compare").click()
        result = page.locator(".compare-result")
        expect(result.locator("#compare-inline del", has_text="30")).to_be_visible()
        table = result.locator("#compare-side-by-side table.sbs")
        expect(table).to_be_hidden()
        result.get_by_role("link", name="Side by side").click()
        expect(table).to_be_visible()
        expect(result.locator("#compare-inline")).to_be_hidden()
        row = table.locator("tr.changed").filter(has=page.locator("td.old del", has_text="30")).first
        expect(row.locator("td.new ins", has_text="90")).to_be_visible()
        expect(table.locator("td.new", has_text=HOSTILE).first).to_be_visible()
        old, new = row.locator("td.old").bounding_box(), row.locator("td.new").bounding_box()
        assert old is not None and new is not None
        if width == 390:
            assert new["y"] >= old["y"] + old["height"] - 1, "on a phone the new wording is below the old one"
            overflow: Any = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, "the side by side view scrolls sideways on a phone"
        else:
            assert abs(new["y"] - old["y"]) < 2 and new["x"] > old["x"] + 200, "side by side on a wide screen"
        result.get_by_role("link", name="Inline", exact=True).click()
        expect(table).to_be_hidden()
        assert page.locator("main img").count() == 0
        assert console.errors == []


def test_the_real_2024_11_05_change_leads_with_the_diff(browser: "Browser", shared: Path,  # noqa: F811
                                                        tmp_path: Path) -> None:
    ota = shared / "ota-data"
    series = sorted((ota / "versions" / "genai-contrib" / "ChatGPT" / "Privacy Policy").glob("*.md"))
    series = [p for p in series if p.stem <= "2024-11-05T12-30-04Z"]
    entries = [{"source": "openai/privacy-policy", "path": str(p),
                "at": re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r"T\1:\2:\3Z", p.stem)} for p in series]
    site = build(tmp_path, entries)
    (path,) = [p for p in (site / "changes").glob("*.html")
               if '<dt>To</dt><dd><a href="../versions/openai/privacy-policy/' in p.read_text(encoding="utf-8")
               and 'first seen <time datetime="2024-11-05' in p.read_text(encoding="utf-8")]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    page.goto(path.as_uri())
    assert top(page, "#diff-h") < 900 < top(page, "#evidence-h")
    folded = page.locator("section.evidence-group details.more")
    assert folded.count() >= 1
    for index in range(folded.count()):
        expect(folded.nth(index).locator("li").first).to_be_hidden()
    shown = page.locator("section.evidence-group > ul > li")
    assert shown.count() <= 3 * page.locator("section.evidence-group").count()
    assert console.errors == []


BIDI_OLD = "# Terms\n\nWe keep your chats for 30 days.\n\nThis paragraph stays the same.\n"
BIDI_NEW = "# Terms\n\nWe keep your chats for \u202e03 syad\u202c.\n\nThis paragraph stays the same.\n"
RAW_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_the_compare_view_shows_bidi_controls_as_markers_never_raw(browser: "Browser",  # noqa: F811
                                                                   tmp_path: Path) -> None:
    (tmp_path / "v1.md").write_text(BIDI_OLD, encoding="utf-8")
    (tmp_path / "v2.md").write_text(BIDI_NEW, encoding="utf-8")
    site = build(tmp_path, [{"source": "testco/terms", "at": "2026-01-01T00:00:00Z", "path": "v1.md"},
                            {"source": "testco/terms", "at": "2026-02-01T00:00:00Z", "path": "v2.md"}])
    script = (site / "versions" / "testco" / "terms" / "_texts.js").read_text(encoding="utf-8")
    texts = json.loads(script[len("policywatchVersions("):-len(");\n")])
    assert texts["2"] == BIDI_NEW, "the texts script keeps the exact text; only what is displayed is marked"

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console = Console(page)
    page.goto((site / "sources" / "testco" / "terms" / "index.html").as_uri())
    page.get_by_label("Older version").select_option("1")
    page.get_by_label("Newer version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    result = page.locator(".compare-result")
    expect(result.locator("#compare-inline ins")).to_contain_text("<U+202E>03 syad<U+202C>")
    inline = result.locator("#compare-inline").text_content() or ""
    side = result.locator("#compare-side-by-side").text_content() or ""
    for view in (inline, side):
        assert "<U+202E>03 syad<U+202C>" in view
        assert RAW_BIDI.search(view) is None, view
    assert result.locator("#compare-side-by-side td.new ins", has_text="<U+202E>").count() == 1
    assert RAW_BIDI.search(page.locator("body").text_content() or "") is None
    assert console.errors == []
