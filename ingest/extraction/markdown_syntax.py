"""Markdown spelling: escaping text so it stays text, link destinations, code spans and fences.

Escaping is deliberately minimal and the same everywhere:

* inside text: ``\\``, ``*``, backticks, ``[`` and ``]`` always; ``_`` unless it
  sits between two letters/digits of the same text node (intraword ``_`` is
  never emphasis); ``<`` before a letter, ``/``, ``!`` or ``?`` (it would open
  raw HTML); ``&`` before something that reads as an entity;
* at the start of a line: ``#`` headings, ``-``/``+`` bullets, ``1.``/``1)``
  numbers, ``>`` quotes, ``~~~`` fences, and lines made only of ``=`` or ``-``
  (setext underlines);
* in table cells: ``|``.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"[\\*`\[\]]|(?<![^\W_])_|_(?![^\W_])|<(?=[A-Za-z/!?])|&(?=#?\w+;)")
_INLINE_HINT = re.compile(r"[\\*`\[\]_<&]")


def escape_text(text: str) -> str:
    if _INLINE_HINT.search(text) is None:
        return text
    return _INLINE.sub(lambda m: "\\" + m.group(0), text)


_LINE_START = re.compile(
    r"(?:#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|\d{1,9}(?=[.)](?:[ \t]|$))|>|~~~|=+[ \t]*$|-+[ \t]*$)"
)
_LINE_START_CHARS = frozenset("#-+>~=0123456789")


def escape_line_start(line: str) -> str:
    if not line or line[0] not in _LINE_START_CHARS:
        return line
    match = _LINE_START.match(line)
    if match is None:
        return line
    if line[0].isdigit():
        # "2024. The year" -> "2024\. The year": the digits stay, the delimiter is escaped.
        end = match.end()
        return line[:end] + "\\" + line[end:]
    return "\\" + line


_CLOSING_HASHES = re.compile(r"(^|[ \t])(#+)$")


def heading(level: int, text: str) -> str:
    # A trailing run of "#" after a space would be read as the optional closing sequence.
    text = _CLOSING_HASHES.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return "#" * level + " " + text


def _balanced(url: str) -> bool:
    if ")" not in url:
        return "(" not in url
    depth = 0
    for c in url:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


_URL_DROPPED = "\t\n\r"  # what browsers drop anywhere in an address
_URL_WHITESPACE = str.maketrans("", "", _URL_DROPPED)
_HAS_URL_WHITESPACE = re.compile(f"[{_URL_DROPPED}]")
_NEEDS_POINTY = re.compile(r"[\s<>\x00-\x1f]")


def destination(url: str) -> str:
    """``url`` spelled as a Markdown link destination, unchanged but for the escapes Markdown requires."""
    # Browsers strip surrounding spaces and drop tabs/newlines anywhere in a URL.
    url = clean_url(url)
    if "\\" in url:
        url = url.replace("\\", "\\\\")
    if _NEEDS_POINTY.search(url) or not _balanced(url):
        return "<" + url.replace("<", "\\<").replace(">", "\\>") + ">"
    return url


def clean_url(url: str | None) -> str:
    """The URL as a browser would use it: no surrounding whitespace, no tabs or newlines inside."""
    if not url:
        return ""
    url = url.strip(" \t\n\r\f")
    # Translating walks the address a character at a time: only one that holds such a character needs it.
    return url.translate(_URL_WHITESPACE) if _HAS_URL_WHITESPACE.search(url) else url


_BACKTICKS = re.compile(r"`+")


def code_span(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = " " + text + " "
    return fence + text + fence


def code_fence(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def image(alt: str, src: str) -> str:
    return "![" + escape_text(alt) + "](" + destination(src) + ")"


def table_cell(text: str) -> str:
    return text.replace("|", "\\|")
