"""The two entry points: a page's HTML bytes, or already-extracted Markdown, to normalised text."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from lxml import etree

from storage.vocabulary import FailureKind

from .decode import utf8_html
from .errors import ExtractionError
from .filters import DEFAULT_FILTERS, FilterSpec, _as_tuple
from .html_markdown import converter_input, html_to_markdown
from .noise import decode_cloudflare_emails
from .normalize import normalize_text
from .selectors import compile_selectors
from .transforms import apply_text_filters, rewrite_markdown_links, url_rewriter


@dataclass(frozen=True)
class ExtractionRules:
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    filters: tuple[FilterSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "select", _as_tuple(self.select))
        object.__setattr__(self, "remove", _as_tuple(self.remove))
        object.__setattr__(self, "filters", tuple(self.filters))

    @property
    def removals(self) -> tuple[str, ...]:
        """What is removed before selecting: the filters' `drop` selectors, then the declaration's `remove`."""
        return tuple(css for spec in self.filters for css in spec.drop) + self.remove


# Elements that never carry visible wording; removed before anything else looks at the tree.
_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "svg")


def _hidden_inputs(root) -> list:
    """The `<input type="hidden">` elements (the type's ASCII letters in any case), in document order: what
    `//input[translate(@type, 'A..Z', 'a..z') = 'hidden']` finds, reached by lxml's walk over the elements of
    that name, several times faster than the XPath, whose predicate makes libxml2 test every node."""
    return [element for element in root.iter("input")
            if (kind := element.get("type")) is not None and kind.isascii() and kind.lower() == "hidden"]


_parsers = threading.local()
_MAX_DEPTH = 2048  # libxml2's nesting limit with huge_tree (256 without); real policy pages stay under 30


def _parser() -> etree.HTMLParser:
    # lxml parsers must not be shared between threads; one per thread is reused. The plain
    # etree parser, not lxml.html's: its Python-level element class lookup costs per node.
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
        _parsers.parser = parser
    return parser


def _xpath(selectors: tuple[str, ...]) -> etree.XPath:
    try:
        return compile_selectors(selectors)
    except ValueError as exc:
        raise ExtractionError(FailureKind.INVALID_SELECTOR, str(exc)) from None


def _drop(element) -> None:
    """Remove ``element`` but keep its tail text, which belongs to what follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _parse(html: bytes, encoding: str | None):
    data, codec, origin = utf8_html(html, encoding)
    parser = _parser()
    root = etree.fromstring(data, parser) if data.strip() else None
    last = parser.error_log.last_error
    if last is not None and last.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        # libxml2 stops at its nesting limit and silently drops the rest of the page;
        # a truncated text must not become a version.
        raise ExtractionError(
            "decode_error",
            f"the HTML nests elements deeper than the parser's limit of {_MAX_DEPTH} levels (line {last.line}, "
            f"column {last.column}); the rest of the page would be lost",
        )
    if root is None:
        raise ExtractionError(FailureKind.EMPTY, f"the page has no content ({len(html)} bytes, charset {codec} from {origin})")
    return root


def _select(root, selectors: tuple[str, ...]) -> list:
    if not selectors:
        body = root.find("body")
        return [body if body is not None else root]
    matches = _xpath(selectors)(root)
    if not matches:
        described = ", ".join(selectors)
        raise ExtractionError(FailureKind.SELECTOR_MISS, f"selector {described!r} matched nothing")
    if len(matches) > 1:
        # A match inside another match would repeat its text: keep the outermost.
        chosen = set(matches)
        matches = [m for m in matches if not any(a in chosen for a in m.iterancestors())]
    return matches


def _describe(rules: ExtractionRules) -> str:
    return f"select {', '.join(rules.select)!r}" if rules.select else "the whole <body>"


def _filters(rules: ExtractionRules) -> tuple[FilterSpec, ...]:
    return DEFAULT_FILTERS + tuple(f for f in rules.filters if f not in DEFAULT_FILTERS)


# A content key covers the code that turns selected content into text: a text
# made by another version of extraction is never taken for this one's.
_CODE_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))).digest()


# Begun content-key hashes by the identity of the rules they were begun for (with the rules, which keeps the
# identity theirs): rules equal to others are not always written out the same (`typography=1` and `True`).
_RULES_DIGESTS: dict[int, tuple[ExtractionRules, Any]] = {}
_RULES_REMEMBERED = 8192


def _rules_digest(rules: ExtractionRules) -> Any:
    """A content key's hash begun: the extraction code and the rules. The same for every fetch of a source, whose
    rules are written out once, not on every fetch; the caller copies it."""
    found = _RULES_DIGESTS.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    digest = hashlib.sha256(_CODE_DIGEST)
    digest.update(repr((rules, _filters(rules))).encode("utf-8"))
    if len(_RULES_DIGESTS) >= _RULES_REMEMBERED:
        _RULES_DIGESTS.clear()
    _RULES_DIGESTS[id(rules)] = (rules, digest)
    return digest


class Selection:
    """The part of a page that ``rules`` select, parsed once: its content key, and its text on demand.

    Two selections with the same ``key`` give the same text (the key covers
    the rules, the extraction code and everything of the selected elements
    the conversion reads), so a page whose key is that of an earlier fetch
    need not be converted again.
    """

    def __init__(self, roots: list, rules: ExtractionRules):
        self.roots = roots
        self.rules = rules
        self.filters = _filters(rules)
        self._rewrite = url_rewriter(self.filters)

    @cached_property
    def key(self) -> str:
        digest = _rules_digest(self.rules).copy()
        digest.update(converter_input(self.roots, self._rewrite))
        return digest.hexdigest()

    def text(self) -> str:
        """Normalised Markdown of the selected elements (they are not to be used again after this)."""
        text = html_to_markdown(self.roots, self._rewrite)
        text = normalize_text(apply_text_filters(text, self.filters))
        if not text:
            raise ExtractionError(FailureKind.EMPTY, f"no text left after extraction ({_describe(self.rules)})")
        return text


def select_content(html: bytes, rules: ExtractionRules, *, encoding: str | None = None) -> Selection:
    """The page parsed, invisible and removed elements dropped, and the part ``rules`` select."""
    root = _parse(html, encoding)
    etree.strip_elements(root, *_INVISIBLE_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for element in _hidden_inputs(root):
        _drop(element)
    filters = _filters(rules)
    if any(f.cloudflare_emails for f in filters):
        decode_cloudflare_emails(root)
    removals = rules.removals
    if removals:
        for element in _xpath(removals)(root):
            _drop(element)
    return Selection(_select(root, rules.select), rules)


def extract_html(html: bytes, rules: ExtractionRules, *, encoding: str | None = None) -> str:
    """Normalised Markdown for the part of the page ``rules`` select."""
    return select_content(html, rules, encoding=encoding).text()


def extract_markdown(text: str, rules: ExtractionRules) -> str:
    """Normalised text for an imported .md/.txt file: link and text filters only, the HTML stages don't apply."""
    filters = _filters(rules)
    rewrite = url_rewriter(filters)
    if rewrite is not None:
        text = rewrite_markdown_links(text, rewrite)
    text = normalize_text(apply_text_filters(text, filters, markdown_input=True))
    if not text:
        raise ExtractionError(FailureKind.EMPTY, "the text is empty after filters and normalisation")
    return text
