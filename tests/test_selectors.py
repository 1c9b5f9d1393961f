"""Selectors find what cssselect's own translation finds, element for element and in the same order.

Extraction writes an attribute test as a step through the attribute
(`E/@a[test]/..`, `ingest.extraction.selectors`); each case here compares
what a compiled selector finds with what cssselect's `HTMLTranslator` finds,
on a built page of edge cases and on OpenAI's real snapshots.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cssselect import HTMLTranslator
from lxml import etree

from conftest import shared_dir
from ingest.extraction.extract import _parse
from ingest.extraction.selectors import compile_selectors

PAGE = b"""<!doctype html><html lang="en-GB"><head><title>t</title></head><body>
<header id="top" class="site-header  sticky"><nav aria-hidden="true"><a href="/a?utm_source=x">A</a></nav></header>
<main id="content" data-x="" class="main">
  <h1 id="title" lang="en">Privacy</h1>
  <p class="lead" title='say "hi"'>one <span class="sr-only">skip</span> two</p>
  <p class="sr-only-not">kept</p>
  <p class=" sr-only ">hidden</p>
  <div id="dup"><p id="dup">nested duplicate id</p></div>
  <section lang="en-US" class="a b"><p>us</p><p aria-hidden="TRUE">upper</p></section>
  <section lang="fr"><p class="b a">fr</p><a href="https://example.org/doc.pdf">pdf</a></section>
  <select name="Locale Select"><option value="en">en</option></select>
  <ul><li id="first">1</li><li class="x">2</li><li class="y">3</li><li>4</li></ul>
  <a href="mailto:x@example.org" rel="nofollow noopener">mail</a>
  <img src="/i.png" alt="">
</main>
<footer id="bottom" aria-hidden="true"><p data-cfemail="abc">f</p></footer>
</body></html>"""

# Each selector (or a declaration's list of them) matches something on PAGE, except those in NONE.
SELECTORS = (
    "#content", "#dup", "#title", "main #dup", "div#dup > p", "#dup p", "#first + li", "#first ~ li", "li + [class=x]",
    ".sr-only", "main .sr-only", ".lead", "p.lead", ".a.b", "section.b", ".x ~ .y", ".x + .y",
    "[aria-hidden=true]", "[aria-hidden=TRUE]", "[aria-hidden=true i]", "[aria-hidden]", "[aria-hidden!=true]",
    "[data-x='']", "[data-x]", "[lang|=en]", "[lang^=en]", "[lang$=US]", "[lang*='n-']", "a[href^='https']",
    "a[href$=pdf]", "a[href*=utm_]", "[rel~=noopener]", "[title='say \"hi\"']", 'select[name="Locale Select"]',
    ("header", "footer", "[aria-hidden=true]"), "p:has(> .sr-only)", "p:has(.sr-only)", "li:has(+ .x)", "section:has(> [aria-hidden])",
    "[aria-hidden=true]:first-child", "li:not(#first)", "#dup:not(div)", "p:is(#dup, .lead)", ":not([class~=lead])",
    "li:nth-child(2)", "section > p:last-child", "*[id=top]", "body > *[id=top]", "body > [data-x] h1",
)
NONE = ("#nowhere", ".nowhere", "[aria-hidden=false]", "[lang|=de]", "a[href$=doc]", "[class~='']", "[data-x^='']",
        "li + #top", "#title:not(h1)")

REFERENCE = HTMLTranslator()


def _found(root: etree._Element, selectors: tuple[str, ...]) -> tuple[list, list]:
    reference = etree.XPath(" | ".join(REFERENCE.css_to_xpath(css) for css in selectors))
    return compile_selectors(selectors)(root), reference(root)


@pytest.mark.parametrize("css", SELECTORS + NONE, ids=str)
def test_a_selector_finds_the_elements_cssselect_finds_in_the_same_order(css: str | tuple[str, ...]) -> None:
    root = _parse(PAGE, None)
    ours, reference = _found(root, css if isinstance(css, tuple) else (css,))
    assert ours == reference
    assert bool(reference) is (css not in NONE), f"the page is meant to {'hold no' if css in NONE else 'hold a'} match"


def test_the_bundled_and_common_selectors_find_the_same_elements_on_openai_pages(shared: Path) -> None:
    pages = sorted((shared / "ota-data" / "snapshots").rglob("*.html"))
    assert pages, "no snapshots to compare on"
    selectors = ("#landings-privacy-policy", "main", "header", "footer", "[aria-hidden=true]", 'select[name="Locale Select"]',
                 "main .sr-only", "[data-testid]", "a[href^='https://']", "a[href*='openai.com']", "[role=navigation]",
                 "[class~=sr-only]", "div[class*=container]", ("#main-content", "nav"), "[dir=ltr] p")
    matched = 0
    for path in pages:
        for css in selectors:
            # Both on the same tree: the elements are compared by identity.
            root = _parse(path.read_bytes(), None)
            ours, reference = _found(root, css if isinstance(css, tuple) else (css,))
            assert ours == reference, f"{css!r} on {path.name}"
            matched += bool(reference)
    assert matched > len(pages) * 5, "the selectors are meant to find elements on most pages"
