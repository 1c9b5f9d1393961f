"""Applying filters: query parameters in URLs, and the text stage on Markdown."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Callable, Sequence
from urllib.parse import unquote_plus

from .filters import PATTERN_GATES, FilterSpec, Gate
from .noise import decode_markdown_cloudflare_emails, drop_ui_lines, normalise_dates

UrlRewriter = Callable[[str], str]

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ",
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
})


# str.translate looks every character of a non-ASCII text up in the table (4 ms for a policy page);
# replacing each of the table's few characters in turn scans the text in C (0.1 ms).
_TYPOGRAPHY_PAIRS = tuple((chr(code), plain) for code, plain in _TYPOGRAPHY.items())


def typography(text: str) -> str:
    if text.isascii():
        return text
    for character, plain in _TYPOGRAPHY_PAIRS:
        if character in text:
            text = text.replace(character, plain)
    return text


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


@lru_cache(maxsize=256)
def _param_matcher(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Parameter names are matched case-insensitively: "UTM_Source" is as much a tracker as "utm_source".
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns))


def strip_query_params(url: str, patterns: tuple[str, ...]) -> str:
    """``url`` without the query parameters whose names match ``patterns``; every other byte kept as written."""
    query_start = url.find("?")
    if query_start < 0 or not patterns:
        return url
    fragment_start = url.find("#")
    if 0 <= fragment_start < query_start:
        return url
    if fragment_start < 0:
        fragment_start = len(url)
    matcher = _param_matcher(patterns)
    parts = url[query_start + 1:fragment_start].split("&")
    kept = [part for part in parts
            if not (part and matcher.match(unquote_plus(part.split("=", 1)[0]).lower()))]
    if len(kept) == len(parts):
        return url
    query = "?" + "&".join(kept) if any(kept) else ""
    return url[:query_start] + query + url[fragment_start:]


def url_rewriter(filters: Sequence[FilterSpec]) -> UrlRewriter | None:
    """A function removing every filter's query parameters from a URL, or None when no filter strips any."""
    patterns = tuple(p for f in filters for p in f.strip_query_params)
    if not patterns:
        return None
    return lambda url: strip_query_params(url, patterns)


_LINK_TARGET = re.compile(r"\]\(")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")


def _destination_end(text: str, start: int) -> int:
    """Index just past the URL of a Markdown link destination starting at ``start``, or -1."""
    if start < len(text) and text[start] == "<":
        end = text.find(">", start + 1)
        return end + 1 if end > 0 and "\n" not in text[start:end] else -1
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c in " \t\n":
            break
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        i += 1
    return i


def rewrite_markdown_links(text: str, rewrite: UrlRewriter) -> str:
    """Apply ``rewrite`` to the destination of every inline link/image and every autolink in Markdown text."""
    out = []
    pos = 0
    for match in _LINK_TARGET.finditer(text):
        start = match.end()
        if start < pos:
            continue
        end = _destination_end(text, start)
        if end <= start:
            continue
        destination = text[start:end]
        if destination.startswith("<"):
            new = "<" + rewrite(destination[1:-1]) + ">"
        else:
            new = rewrite(destination)
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    text = "".join(out)
    return _AUTOLINK.sub(lambda m: "<" + rewrite(m.group(1)) + ">", text)


# The characters besides A-Z and a-z that `re` takes for an ASCII letter when it ignores case (İ, dotless ı,
# long ſ, the Kelvin sign): `str.lower` leaves ı and ſ as they are and makes İ two characters, so in a text
# holding one of them a word found ignoring case may not be in the lower-cased text at the same place (the Kelvin
# sign it makes `k`; a text holding one takes the case-insensitive search all the same).
# `tests/test_extraction.py` tries every character.
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


def _lowered(text: str) -> str | None:
    """`text.lower()`, in which a word of ASCII letters is wherever `re` finds it ignoring case, at the same
    place (the one character `str.lower` lengthens is İ); None for a text where that does not hold."""
    if not text.isascii() and any(c in text for c in _FOLDS_TO_ASCII):
        return None
    return text.lower()


def _may_change(text: str, lowered: str | None, gate: Gate) -> bool:
    """Whether `text` holds the gate's word and core, as searching it for both ignoring case says.

    Searched ignoring case, `re` tries every position of the text (0.1-0.3 ms on a policy page, for each of the
    six searches of the relative dates' three gates): the word is looked for in the lower-cased text instead,
    and an anchored core only where its word is."""
    if lowered is None:
        return all(_compiled(f"(?i:{part})").search(text) for part in (re.escape(gate.word), gate.core))
    if gate.word not in lowered:
        return False
    core = _compiled(f"(?i:{gate.core})")
    if not gate.anchored:
        return core.search(text) is not None
    at = lowered.find(gate.word)
    while at >= 0:
        if core.match(text, at):
            return True
        at = lowered.find(gate.word, at + 1)
    return False


def _replace(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    # Each pattern's gates on their own: one expression joining a filter's took longer than its gates in turn.
    lowered, lowered_for = None, None
    for pattern, replacement in rules:
        gate = PATTERN_GATES.get(pattern)
        if gate is not None:
            if lowered_for is not text:
                lowered, lowered_for = _lowered(text), text
            if not _may_change(text, lowered, gate):
                continue
        text = _compiled(pattern).sub(replacement, text)
    return text


def apply_text_filters(text: str, filters: Sequence[FilterSpec], markdown_input: bool = False) -> str:
    """The text stage, filter by filter: its replacements in order, then its typography, dates and interface
    strings. `markdown_input`: the text was imported as Markdown, so obfuscated addresses are still links."""
    for spec in filters:
        if markdown_input and spec.cloudflare_emails:
            text = decode_markdown_cloudflare_emails(text)
        if spec.replace:
            text = _replace(text, spec.replace)
        if spec.typography:
            text = typography(text)
        if spec.dates:
            text = normalise_dates(text, spec.dates)
        if spec.ui_strings:
            text = drop_ui_lines(text)
    return text
