"""CSS selectors compiled once to XPath and cached by their text."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

_TRANSLATOR = HTMLTranslator()


@lru_cache(maxsize=1024)
def _to_xpath(css: str) -> str:
    if not css.strip():
        raise ValueError(f"invalid CSS selector {css!r}: it is empty")
    try:
        return _TRANSLATOR.css_to_xpath(css)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {css!r}: {exc}") from None


def validate_selector(css: str) -> None:
    """Raise ValueError("invalid CSS selector 'x': <why>") unless ``css`` can be used in select/remove/drop."""
    if not isinstance(css, str):
        raise ValueError(f"invalid CSS selector {css!r}: expected a string, got {type(css).__name__}")
    compile_selectors((css,))


@lru_cache(maxsize=512)
def compile_selectors(selectors: Sequence[str]) -> etree.XPath:
    """One XPath matching every element matched by any of ``selectors``.

    An XPath union returns its nodes once each and in document order, which is
    exactly what combining several selectors needs.
    """
    paths = [_to_xpath(css) for css in selectors]
    expression = " | ".join(paths)
    try:
        return etree.XPath(expression)
    except etree.XPathSyntaxError as exc:
        culprit = selectors[0] if len(selectors) == 1 else ", ".join(selectors)
        raise ValueError(f"invalid CSS selector {culprit!r}: {exc}") from None
