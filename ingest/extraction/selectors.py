"""CSS selectors compiled once to XPath and cached by their text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Sequence

from cssselect import HTMLTranslator, SelectorError
from cssselect.xpath import XPathExpr
from lxml import etree

# An attribute named as a plain XPath name test: `@class`, not `attribute::*[name() = 'x']` or `translate(@a, …)`.
_PLAIN_ATTRIBUTE = re.compile(r"@[A-Za-z_][A-Za-z0-9_.-]*\Z")


class _AttributeFirst(XPathExpr):
    """cssselect's step, written `E/@a[test]/..` where its one condition is a test of attribute `a`.

    libxml2 evaluates a step's predicate on every element the step visits,
    which for `*[@a = 'v']` over a whole page is most of the selector's
    cost. Reaching the attribute first walks the attribute axis by name,
    evaluates the test only on the attributes named `a`, and steps back to
    their elements: the same elements, in document order, in less time
    (the bundled OpenAI rules' selectors: 0.17 ms a page as cssselect writes
    them, 0.13–0.14 ms so; `bench/extract_speed.py`). A step with any other
    condition, or more than one, is written as cssselect writes it.

    Needs cssselect 1.5 or later, whose `XPathExpr.join` takes no more than
    the combiner and the step joined (`pyproject.toml`).
    """

    def __init__(self, path: str = "", element: str = "*", condition: str = "", star_prefix: bool = False) -> None:
        super().__init__(path, element, condition, star_prefix)
        # (attribute, its test written on the attribute itself, the condition that test stands for)
        self.attribute: tuple[str, str, str] | None = None

    def __str__(self) -> str:
        if self.attribute is not None and self.condition == self.attribute[2]:
            name, test, _ = self.attribute
            return f"{self.path}{self.element}/{name}[{test}]/.."
        return super().__str__()

    def join(self, combiner: str, other: XPathExpr) -> "_AttributeFirst":
        super().join(combiner, other)
        self.attribute = getattr(other, "attribute", None)
        return self


def _attribute_first(method: Callable[..., XPathExpr]) -> Callable[..., XPathExpr]:
    """A translation of an attribute operator that also records its test for `_AttributeFirst`."""

    def translate(self: "_Translator", xpath: XPathExpr, name: str, value: str | None) -> XPathExpr:
        alone = not xpath.condition and _PLAIN_ATTRIBUTE.match(name) is not None
        result = method(self, xpath, name, value)
        if alone and result.condition != "0" and isinstance(result, _AttributeFirst):
            # The same operator written on the attribute node itself: its values are quoted as cssselect quotes them.
            on_itself = method(self, _AttributeFirst(), ".", value).condition
            result.attribute = (name, on_itself, result.condition)
        return result

    return translate


class _Translator(HTMLTranslator):
    """cssselect's HTML translation, attribute tests reached through the attribute (`_AttributeFirst`).

    Not `[a]` alone (`E/@a/..` is slower where many elements have the
    attribute) nor `[a!=v]`, which also matches elements without it.
    """

    xpathexpr_cls = _AttributeFirst
    xpath_attrib_equals = _attribute_first(HTMLTranslator.xpath_attrib_equals)
    xpath_attrib_includes = _attribute_first(HTMLTranslator.xpath_attrib_includes)
    xpath_attrib_dashmatch = _attribute_first(HTMLTranslator.xpath_attrib_dashmatch)
    xpath_attrib_prefixmatch = _attribute_first(HTMLTranslator.xpath_attrib_prefixmatch)
    xpath_attrib_suffixmatch = _attribute_first(HTMLTranslator.xpath_attrib_suffixmatch)
    xpath_attrib_substringmatch = _attribute_first(HTMLTranslator.xpath_attrib_substringmatch)


_TRANSLATOR = _Translator()


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
