"""A version's Markdown as HTML: escaped, links resolved and marked, images never loaded (tests/data/policytext)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.policytext import render_markdown, resolve_link

CASES = yaml.safe_load((Path(__file__).parent / "data/policytext/cases.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rendering(case: dict[str, Any]) -> None:
    html = str(render_markdown(case["markdown"], case["base"]))
    for wanted in case.get("contains", ()):
        assert wanted in html, f"{wanted!r} missing from:\n{html}"
    for unwanted in case.get("absent", ()):
        assert unwanted not in html, f"{unwanted!r} found in:\n{html}"


def test_every_link_and_only_web_links() -> None:
    """Whatever the text, each <a> has an http(s) or mailto href and rel="nofollow noopener"."""
    text = "\n\n".join(case["markdown"] for case in CASES)
    html = str(render_markdown(text, "https://vendor.example/legal/"))
    anchors = html.split("<a ")[1:]
    assert len(anchors) > 10
    for anchor in anchors:
        assert anchor.startswith(('href="https://', 'href="http://', 'href="mailto:', 'class="image-alt" href="http'))
        assert 'rel="nofollow noopener"' in anchor.split(">", 1)[0]


@pytest.mark.parametrize("href, base, expected", [
    ("../terms", "https://v.example/legal/privacy", "https://v.example/terms"),
    ("//cdn.example/x", "https://v.example/", "https://cdn.example/x"),
    ("HTTPS://V.EXAMPLE/A", "https://v.example/", "HTTPS://V.EXAMPLE/A"),
    ("javascript:alert(1)", "https://v.example/", None),
    ("/x", "", None),
    ("", "https://v.example/", None),
])
def test_resolve_link(href: str, base: str, expected: str | None) -> None:
    assert resolve_link(href, base) == expected
