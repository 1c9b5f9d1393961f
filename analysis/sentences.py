"""Sentence splitting for Markdown policy texts in English, German and French.

Two stages. Blocks first: headings, list items, table cells (and the items
inside a cell separated by ``<br>``) and paragraphs each start afresh, so a
list item without a final full stop never runs into the next one. Then
sentences inside a block: a break after ``.``, ``!``, ``?`` or ``…``
(optionally followed by closing quotes or brackets) when the next character
opens a sentence (an upper-case letter, a digit, an opening quote or
bracket), except after an abbreviation listed in the language file
("e.g.", "z. B.", "p. ex."), after a single initial ("J. Smith"), after an
enumeration label opening the block ("1.", "a."), and, in German, after a
day or ordinal number ("am 4. November").

Sentences come back as plain text: Markdown link targets, emphasis,
escapes, word joiners and "(opens in a new window)" are removed (see
``analysis.plaintext``).
"""

from __future__ import annotations

import re

from analysis.plaintext import inline_to_plain
from analysis.rules import LanguageData, language_data

_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+\-•·]|\d{1,3}(?:\\?[.)])|[a-zA-Z](?:\\?[.)])|\(\w{1,4}\))\s+(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|?\s*$")
_TABLE_SEPARATOR = re.compile(r"^[\s|:\-]+$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CELL_BULLET = re.compile(r"^\s*(?:[*+\-•·])\s+")
_BLOCKQUOTE = re.compile(r"^\s*>\s?")

_BOUNDARY = re.compile(r"(?:[.!?]+|…)[\"'”’»)\]]*(?=\s)")
# "obligations.Where": a full stop glued to the next sentence in the source
# page; only between words, so "openai.com" and "e.g.X" are left alone.
_GLUED = re.compile(r"(?<=[^\W\d_]{3}[.!?])(?=[A-Z][^\W\d_A-Z]{2})")
_OPENER = re.compile(r"\s+(?:[\"'“‘„«(\[¿¡]\s?)*\w")
_ENUMERATION = re.compile(r"^\(?(?:\d{1,3}|[a-zA-Z]|[ivxlc]{1,5})$", re.IGNORECASE)
# A single letter before a full stop is an initial or part of an abbreviation ("z. B.", "p. ex.").
_INITIAL = re.compile(r"(?:^|\s)[^\W\d_]$")
_SHORT_NUMBER = re.compile(r"(?:^|\s)\d{1,2}$")


def _blocks(text: str) -> list[str]:
    """Markdown text cut into blocks whose boundaries are always sentence boundaries."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(part.strip() for part in current))
            current.clear()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _BLOCKQUOTE.sub("", line)
        if not line.strip():
            flush()
            continue
        if _SETEXT_UNDERLINE.match(line) and current:
            flush()
            continue
        if _THEMATIC_BREAK.match(line):
            flush()
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            flush()
            blocks.append(heading.group(1))
            continue
        row = _TABLE_ROW.match(line)
        if row:
            flush()
            if _TABLE_SEPARATOR.match(line):
                continue
            for cell in _CELL_SPLIT.split(row.group(1)):
                for part in _BR.split(cell):
                    part = _CELL_BULLET.sub("", part).strip()
                    if part:
                        blocks.append(part)
            continue
        item = _LIST_ITEM.match(line)
        if item and not (line.startswith("    ") and current):
            flush()
            current.append(item.group(1))
            continue
        current.append(line)
    flush()
    return blocks


def _is_break(block: str, end: int, following: str, data: LanguageData) -> bool:
    if not _OPENER.match(following):
        return False
    start_char = following.lstrip(" \"'“‘„«([¿¡")[:1]
    if start_char.islower():
        return False
    head = block[:end].rstrip("\"'”’»)]")
    if not head.endswith("."):
        return True
    before = head[:-1]
    if data.abbreviation is not None and data.abbreviation.search(before[-24:]):
        return False
    if _INITIAL.search(before[-3:]):
        return False
    if data.ordinal_dot and _SHORT_NUMBER.search(before[-4:]):
        return False
    return True


def _split_block(block: str, data: LanguageData) -> list[str]:
    sentences: list[str] = []
    start = 0
    ends = sorted({m.end() for m in _BOUNDARY.finditer(block)} | {m.start() for m in _GLUED.finditer(block)})
    for end in ends:
        segment = block[start:end].strip()
        if _ENUMERATION.match(segment.rstrip(".)")) and segment.endswith((".", ")")):
            continue
        following = block[end:end + 8]
        if not following[:1].isspace():
            following = " " + following
        if _is_break(block, end, following, data):
            if segment:
                sentences.append(segment)
            start = end
    tail = block[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_sentences(text: str, language: str) -> list[str]:
    """The sentences of a Markdown or plain text, as plain text, in order."""
    data = language_data(language)
    sentences: list[str] = []
    for block in _blocks(text):
        plain = inline_to_plain(block)
        if plain:
            sentences.extend(_split_block(plain, data))
    return sentences


def statement_sentences(text: str, language: str) -> list[str]:
    """The sentences of a text that can carry a statement."""
    return split_sentences(text, language)
