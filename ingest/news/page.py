"""Reading a fetched news page once: its tree, its JSON-LD objects, its visible text.

The guard, the identity and the extraction all look at the same page; this
parses it once, within limits, and hands out what they need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

import lxml.html
from lxml import etree

MAX_PAGE_BYTES = 10_000_000
_MAX_JSONLD_SCRIPTS = 50
_MAX_JSONLD_CHARS = 1_000_000
_MAX_JSONLD_OBJECTS = 500
_VISIBLE_TEXT = ("//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
                 " or ancestor::svg)]")


class PageError(ValueError):
    """The bytes cannot be read as an HTML page."""


@dataclass(frozen=True)
class Page:
    """A fetched HTML page: ``html`` as given, ``url`` where it was fetched from (after redirects), and the
    charset of the HTTP ``Content-Type`` header when it named one."""

    html: bytes
    url: str
    encoding: str | None = None

    @property
    def markup(self) -> bytes | str:
        """The page for libraries that read HTML themselves: decoded when the server named the charset."""
        if self.encoding:
            try:
                return self.html.decode(self.encoding, errors="replace")
            except LookupError:
                return self.html
        return self.html

    def _parser_encoding(self) -> str | None:
        if self.encoding:
            return self.encoding
        if b"charset" in self.html[:4096].lower():
            return None  # libxml2 reads the page's own declaration
        try:
            self.html.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "utf-8"

    @cached_property
    def tree(self) -> lxml.html.HtmlElement:
        if not self.html.strip():
            raise PageError(f"{self.url}: an empty page")
        if len(self.html) > MAX_PAGE_BYTES:
            raise PageError(f"{self.url}: {len(self.html)} bytes, more than the {MAX_PAGE_BYTES} a news page may have")
        try:
            parser = lxml.html.HTMLParser(encoding=self._parser_encoding())
            return lxml.html.document_fromstring(self.html, parser=parser)
        except (etree.ParserError, ValueError, LookupError) as exc:
            raise PageError(f"{self.url}: not readable as HTML: {exc}") from None

    @cached_property
    def html_language(self) -> str | None:
        """The two-letter code of ``<html lang>``, if any."""
        value = (self.tree.get("lang") or self.tree.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip()
        code = value.split("-")[0].split("_")[0].lower()
        return code if len(code) == 2 and code.isalpha() else None

    @cached_property
    def jsonld(self) -> tuple[dict[str, Any], ...]:
        """Every JSON-LD object of the page (``@graph`` members and nested lists flattened), bounded."""
        found: list[dict[str, Any]] = []
        scripts = self.tree.xpath('//script[@type="application/ld+json"]')[:_MAX_JSONLD_SCRIPTS]
        for script in scripts:
            text = (script.text or "")[:_MAX_JSONLD_CHARS]
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                continue
            found.extend(_objects(data))
            if len(found) >= _MAX_JSONLD_OBJECTS:
                break
        return tuple(found[:_MAX_JSONLD_OBJECTS])

    def meta(self, name: str) -> str | None:
        """The content of ``<meta name=…>`` or ``<meta property=…>`` (case-insensitive), if any."""
        wanted = name.lower()
        for element in self.tree.iter("meta"):
            key = (element.get("name") or element.get("property") or element.get("http-equiv") or "").lower()
            if key == wanted and element.get("content") is not None:
                return element.get("content", "").strip()
        return None

    @cached_property
    def visible_text(self) -> str:
        """The page's text without scripts and styles, whitespace collapsed."""
        return " ".join(" ".join(self.tree.xpath(_VISIBLE_TEXT)).split())


def _objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 8:
        return
    if isinstance(data, list):
        for item in data:
            yield from _objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        if isinstance(data.get("@graph"), list):
            yield from _objects(data["@graph"], depth + 1)
