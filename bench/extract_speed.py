"""Extraction speed on real OpenAI policy snapshots: our engine against BeautifulSoup + markdownify.

    python bench/extract_speed.py [--repeat N]

Reads every .html under ../shared/ota-data/snapshots (or $POLICYWATCH_SHARED),
extracts each with the rules of the declaration that produced it and the
filters the bundled OpenAI declarations use (sources/openai.yaml:
openai-noise, tracking-params, relative-dates, typography), and times, in one
process pinned to one core, (a) ``extract_html``, (b) each stage of it (parse
and select, conversion, each filter, normalisation), with the strict UTF-8
check the parse makes (and, for comparison, decoding the page whole, as it
was checked before), the lookup of Cloudflare-obfuscated addresses (and the
expression that tested every element, as it was looked up before), the
rules' selectors on the parsed page (and, for comparison, the same
selectors as cssselect writes them, each attribute test made on every
element a step visits), and (c) the baseline
``BeautifulSoup(html, "lxml")`` + ``select`` + ``decompose`` of the removed
elements + ``markdownify``. Each figure is the median of N timed passes after
one warm-up pass.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import lxml.etree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest import BUNDLED_SOURCES  # noqa: E402
from ingest.declarations import load_sources  # noqa: E402
from ingest.extraction import ExtractionRules, extract_html, html_to_markdown, normalize_text, select_content  # noqa: E402
from ingest.extraction.decode import decode_html, utf8_html  # noqa: E402
from ingest.extraction.extract import _parse as parse_html  # noqa: E402
from ingest.extraction.noise import _PROTECTED, decode_cloudflare_emails  # noqa: E402
from ingest.extraction.selectors import compile_selectors  # noqa: E402
from ingest.extraction.transforms import apply_text_filters, url_rewriter  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

EVERY_ELEMENT = lxml.etree.XPath(f"//*[@data-cfemail] | //a[contains(@href, '{_PROTECTED}')]")
FILTERS = load_sources(BUNDLED_SOURCES)["openai/privacy-policy-eu"].rules.filters
US_RULES = ExtractionRules(select=("#landings-privacy-policy",), remove=("header", "footer", "[aria-hidden=true]"),
                           filters=FILTERS)
EU_RULES = ExtractionRules(select=("main",), remove=('select[name="Locale Select"]', "main .sr-only"),
                           filters=FILTERS)
US_UNTIL = "2024-05"  # file names start with the fetch time

Page = tuple[str, bytes, ExtractionRules]



def load_pages(snapshots: Path) -> list[Page]:
    return [(path.name, path.read_bytes(), US_RULES if path.name < US_UNTIL else EU_RULES)
            for path in sorted(snapshots.rglob("*.html"))]


def ours(page: Page) -> str:
    return extract_html(page[1], page[2])


def baseline(page: Page) -> str:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(page[1], "lxml")
    for css in page[2].remove:
        for element in soup.select(css):
            element.decompose()
    selected = [element for css in page[2].select for element in soup.select(css)]
    return "\n\n".join(markdownify(str(element)) for element in selected)


def stages(pages: list[Page], repeat: int) -> list[tuple[str, float]]:
    """Median seconds per page of each stage of ``extract_html``, the bundled filters one by one."""
    totals: dict[str, list[float]] = {}
    for _ in range(repeat + 1):
        passes: dict[str, float] = {}

        def timed(name: str, work: Callable[[], object]) -> object:
            started = time.perf_counter()
            result = work()
            passes[name] = passes.get(name, 0.0) + time.perf_counter() - started
            return result

        for _, body, rules in pages:
            selection = timed("parse, drop and select", lambda: select_content(body, rules))
            # Part of the parse: the bytes checked as strict UTF-8 without building the page's text, and, for
            # comparison, the page decoded whole, as the check did before.
            timed("  of which: UTF-8 check (piecewise)", lambda: utf8_html(body))
            timed("  for comparison: decoding the page whole", lambda: decode_html(body))
            # Also part of it: the elements holding an address Cloudflare obfuscated, found through their
            # attributes, and, for comparison, by testing every element, as the lookup did before.
            # Each on a tree of its own, just parsed by extraction's own parsing, as in a crawl.
            root = parse_html(body, None)
            timed("  of which: Cloudflare address lookup", lambda: decode_cloudflare_emails(root))
            root = parse_html(body, None)
            timed("  for comparison: testing every element", lambda: EVERY_ELEMENT(root))
            # And the rules' selectors (what is removed, then what is selected), as compiled and as cssselect
            # writes them, each on the same tree, which neither changes.
            ours_, theirs = selectors(rules)
            timed("  the rules' selectors, on the parsed page", lambda: [xpath(root) for xpath in ours_])
            timed("  for comparison: as cssselect writes them", lambda: [xpath(root) for xpath in theirs])
            text = timed("convert to Markdown", lambda: html_to_markdown(selection.roots, url_rewriter(rules.filters)))
            for spec in rules.filters:
                text = timed(f"filter {spec.name}", lambda: apply_text_filters(text, (spec,)))
            timed("normalise", lambda: normalize_text(text))
        for name, seconds in passes.items():
            totals.setdefault(name, []).append(seconds / len(pages))
    return [(name, statistics.median(runs[1:])) for name, runs in totals.items()]


def selectors(rules: ExtractionRules) -> tuple[list[lxml.etree.XPath], list[lxml.etree.XPath]]:
    """The XPaths of what `rules` remove and select: as extraction compiles them, and as cssselect writes them."""
    from cssselect import HTMLTranslator

    groups = [g for g in (rules.removals, rules.select) if g]
    translator = HTMLTranslator()
    return ([compile_selectors(g) for g in groups],
            [lxml.etree.XPath(" | ".join(translator.css_to_xpath(c) for c in g)) for g in groups])


def time_passes(extract: Callable[[Page], str], pages: list[Page], repeat: int) -> float:
    """Median seconds per page over ``repeat`` passes, after one untimed warm-up pass."""
    for page in pages:
        extract(page)
    passes = []
    for _ in range(repeat):
        started = time.perf_counter()
        for page in pages:
            extract(page)
        passes.append((time.perf_counter() - started) / len(pages))
    return statistics.median(passes)


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over all pages (default 5)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    snapshots = (shared_dir() or REPO) / "ota-data" / "snapshots"
    pages = load_pages(snapshots) if snapshots.is_dir() else []
    if not pages:
        print(f"skipped: {snapshots} not found or holds no .html snapshots")
        return 0

    where = pin_to_one_core()
    size = sum(len(p[1]) for p in pages) / len(pages)
    print(f"{len(pages)} snapshots, average {size / 1000:.0f} KB, {args.repeat} passes, {where}")

    rows = [("extract_html (lxml + own converter)", time_passes(ours, pages, args.repeat))]
    try:
        import bs4  # noqa: F401
        import markdownify  # noqa: F401
    except ImportError as exc:
        print(f"baseline skipped: {exc.name} is not installed (pip install -e '.[test]')")
    else:
        rows.append(("BeautifulSoup(lxml) + select + markdownify", time_passes(baseline, pages, args.repeat)))

    print()
    print(f"{'method':<44} {'ms/page':>9} {'pages/s':>9}")
    for name, seconds in rows:
        print(f"{name:<44} {seconds * 1000:>9.2f} {1 / seconds:>9.1f}")
    if len(rows) == 2:
        print(f"\nspeed ratio: extract_html is {rows[1][1] / rows[0][1]:.1f}x faster than the baseline")
    print(f"\n{'stage of extract_html':<44} {'ms/page':>9}")
    for name, seconds in stages(pages, args.repeat):
        print(f"{name:<44} {seconds * 1000:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
