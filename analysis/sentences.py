"""Sentence splitting for Markdown policy texts in English, German and French.

Two stages. Blocks first: headings, list items (nested ones too), table
cells, table-of-contents entries (a line that is only a link to a place in
the same page), paragraphs and the lines of a paragraph separated by a hard
line break (``<br>``, two trailing spaces, a backslash) each start afresh, so
a list item without a final full stop never runs into the next one, and a
nested list or a table of contents never becomes one long sentence. Each
sentence keeps the kind of its block (``UnitKind``): headings and contents
entries name topics and carry no statement. Then
sentences inside a block: a break after ``.``, ``!``, ``?`` or ``…``
(optionally followed by closing quotes or brackets) when the next character
opens a sentence (an upper-case letter, a digit, an opening quote or
bracket), except after an abbreviation listed in the language file
("e.g.", "z. B.", "p. ex."), after a single initial ("J. Smith"), after an
enumeration label opening the block ("1.", "a."), and, in German, after a
day or ordinal number ("am 4. November"), and after a company's legal form
when a bracket or quote follows ("OpenAI, Inc. (“OpenAI”)").

Sentences come back as plain text: Markdown link targets, emphasis,
escapes, word joiners and "(opens in a new window)" are removed (see
``analysis.plaintext``).
"""

from __future__ import annotations

import functools
import re

from dataclasses import dataclass

from analysis.plaintext import inline_to_plain
from analysis.rules import LanguageData, language_data
from analysis.vocabulary import UnitKind

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
# An enumeration label left after a bullet ("* a. Text", "- (ii) Text"): part of the list's markup.
_ITEM_LABEL = re.compile(r"^(?:(?:\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,5})\\?[.)]|\((?:\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,5})\))\s+")

_BOUNDARY = re.compile(r"(?:[.!?]+|…)[\"'”’»)\]]*(?=\s)")
# "obligations.Where": a full stop glued to the next sentence in the source
# page; only between words, so "openai.com" and "e.g.X" are left alone.
_GLUED = re.compile(r"[.!?](?<=[^\W\d_]{3}[.!?])(?=[A-Z][^\W\d_A-Z]{2})")
_OPENER = re.compile(r"\s+(?:[\"'“‘„«(\[¿¡]\s?)*\w")
_ENUMERATION = re.compile(r"^\(?(?:\d{1,3}|[a-zA-Z]|[ivxlc]{1,5})$", re.IGNORECASE)
# A single letter before a full stop is an initial or part of an abbreviation ("z. B.", "p. ex.").
_INITIAL = re.compile(r"(?:^|\s)[^\W\d_]$")
_SHORT_NUMBER = re.compile(r"(?:^|\s)\d{1,2}$")
# A company's legal form ends with a full stop that seldom ends the sentence when a bracket or quote follows:
# policies name their author that way in every language ("OpenAI, Inc. (“OpenAI”) …", "Acme S.A. (« nous »)").
# Before a capitalised word ("… Ireland Ltd. We keep …") the full stop still ends the sentence.
_LEGAL_FORM = re.compile(r"(?:^|[\s,])(?:Inc|Ltd|Corp|Co|LLC|L\.L\.C|PLC|Pty|S\.\s?A|S\.A\.S|S\.à\s?r\.l|"
                         r"B\.V|N\.V|A\.G|K\.K)$")


@dataclass(frozen=True)
class Unit:
    """One sentence (or list item, cell, heading) as plain text, with the kind of block it comes from.

    ``lead`` is, for a list item, the sentence that introduces its list: the
    last sentence of the paragraph or item right before the list when it ends
    with a colon ("We share data with the following processors:" for the item
    "Acme Analytics"). A heading names a topic and introduces nothing.
    """

    text: str
    kind: UnitKind
    lead: str | None = None


@dataclass(slots=True)
class _Block:
    text: str
    kind: UnitKind
    lead: int | None = None  # index of the block that introduces this list item


# A line that is nothing but a link to a place in the same page, optionally
# numbered: a table-of-contents entry ("[4. Retention](#retention)").
_CONTENTS_LINE = re.compile(r"^\s*(?:\d{1,3}(?:\.\d{1,3})*\\?[.)]?\s*)?\[[^\[\]]+\]\(#[^()\s]*\)\s*$")
# A hard line break inside a paragraph: two trailing spaces or a backslash.
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")
_INDENT = re.compile(r"^\s*")
# What every line with block markup starts with (quote, heading, underline, break, table, list item);
# a line that does not is paragraph text and is not tried against each of them.
_MAY_BE_MARKUP = re.compile(r"\s*(?:[#>|=*+\-•·_(\d]|[^\W\d_]\\?[.)])")
_INTRODUCES = re.compile(r":[*_\s]*$")


def _blocks(text: str) -> list[_Block]:
    """Markdown text cut into blocks whose boundaries are always sentence boundaries."""
    blocks: list[_Block] = []
    current: list[str] = []
    kind = UnitKind.PARAGRAPH
    lead: int | None = None
    # Open lists: (indentation of their items, index of the block introducing them).
    lists: list[tuple[int, int | None]] = []

    def flush() -> None:
        if current:
            joined = current[0].strip() if len(current) == 1 else " ".join([part.strip() for part in current])
            blocks.append(_Block(joined, kind, lead))
            current.clear()

    def introducer() -> int | None:
        if not blocks:
            return None
        last = blocks[-1]
        return len(blocks) - 1 if last.kind != UnitKind.HEADING and _INTRODUCES.search(last.text) else None

    def paragraph_line(line: str) -> None:
        nonlocal kind, lead
        if "](#" in line and _CONTENTS_LINE.match(line):
            flush()
            blocks.append(_Block(line.strip(), UnitKind.CONTENTS))
            return
        if not current:
            kind, lead = UnitKind.PARAGRAPH, None
            lists.clear()
        # A line break inside a block separates items (an address, a list
        # written with <br>), never the words of one sentence.
        parts = _BR.split(line) if "<" in line else [line]
        for index, part in enumerate(parts):
            if index:
                flush()
            current.append(part)
        if line.endswith(("  ", "\\")) and _HARD_BREAK.search(line):
            flush()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not _MAY_BE_MARKUP.match(line):
            if not line.strip():
                flush()
                continue
            paragraph_line(line)
            continue
        line = _BLOCKQUOTE.sub("", line)
        stripped = line.lstrip()
        if not stripped:
            flush()
            continue
        # Each expression below can match only if the first character after the indentation is one of its own
        # (`\s` in them is what `str.lstrip` strips, `str.isspace`): a line is not tried against the others.
        opener = stripped[0]
        if opener in "=-" and current and _SETEXT_UNDERLINE.match(line):
            kind = UnitKind.HEADING
            flush()
            lists.clear()
            continue
        if opener in "-*_" and _THEMATIC_BREAK.match(line):
            flush()
            lists.clear()
            continue
        heading = _ATX_HEADING.match(line) if opener == "#" else None
        if heading:
            flush()
            lists.clear()
            blocks.append(_Block(heading.group(1), UnitKind.HEADING))
            continue
        row = _TABLE_ROW.match(line) if opener == "|" else None
        if row:
            flush()
            lists.clear()
            if _TABLE_SEPARATOR.match(line):
                continue
            for cell in _CELL_SPLIT.split(row.group(1)):
                for part in _BR.split(cell):
                    part = _CELL_BULLET.sub("", part).strip()
                    if part:
                        blocks.append(_Block(part, UnitKind.CELL))
            continue
        # Every list item starts a block, nested ones too: a nested list is
        # not one sentence with its parent item.
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            indent = len(_INDENT.match(line).group(0))  # type: ignore[union-attr]
            while lists and lists[-1][0] > indent:
                lists.pop()
            if not lists or lists[-1][0] < indent:
                lists.append((indent, introducer()))
            content = _ITEM_LABEL.sub("", item.group(1), count=1)
            kind = UnitKind.CONTENTS if "](#" in content and _CONTENTS_LINE.match(content) else UnitKind.ITEM
            lead = lists[-1][1]
            current.append(content)
            continue
        paragraph_line(line)
    flush()
    return blocks


_CLOSERS = "\"'”’»)]"
_NON_SPACE = re.compile(r"\S")
# The longest enumeration label: "(", five roman numerals and a line break ($ matches before one).
_LABEL_CHARS = 7


def _run_start(block: str, end: int, chars: str, limit: int = 0) -> int:
    """Where the run of ``chars`` ending at ``end`` starts (not before ``limit``)."""
    while end > limit and block[end - 1] in chars:
        end -= 1
    return end


def _is_break(block: str, end: int, following: str, data: LanguageData) -> bool:
    if not _OPENER.match(following):
        return False
    start_char = following.lstrip(" \"'“‘„«([¿¡")[:1]
    if start_char.islower():
        return False
    # Only the few characters before the candidate are read: copying the block up to each
    # candidate would make a long block quadratic.
    head_end = _run_start(block, end, _CLOSERS)
    if head_end == 0 or block[head_end - 1] != ".":
        return True
    before_end = head_end - 1
    before = block[max(0, before_end - 24):before_end]
    if not following.lstrip()[:1].isalnum() and _LEGAL_FORM.search(before):
        return False
    return not _follows_no_break(before, data)


# Repetitive text (tables, generated lists) asks about the same few words again and again.
_FOLLOWS_NO_BREAK: dict[tuple[int, str], bool] = {}
_FOLLOWS_NO_BREAK_SIZE = 20_000


def _follows_no_break(before: str, data: LanguageData) -> bool:
    pattern = _no_break_after(data)
    key = (id(pattern), before)
    found = _FOLLOWS_NO_BREAK.get(key)
    if found is None:
        if len(_FOLLOWS_NO_BREAK) >= _FOLLOWS_NO_BREAK_SIZE:
            _FOLLOWS_NO_BREAK.clear()
        found = _FOLLOWS_NO_BREAK[key] = pattern.search(before) is not None
    return found


_NO_BREAK: dict[tuple[str | None, bool], re.Pattern[str]] = {}


def _no_break_after(data: LanguageData) -> re.Pattern[str]:
    """What a full stop that ends no sentence follows: an abbreviation of the language ("e.g."), a single
    initial ("J."), and in languages that write ordinals with a dot, a day or ordinal number ("am 4.").

    One expression read over the 24 characters before the stop; the initial and the number,
    anchored at its end, read the same there as over their own 3 and 4 characters.
    """
    key = (data.abbreviation.pattern if data.abbreviation is not None else None, data.ordinal_dot)
    pattern = _NO_BREAK.get(key)
    if pattern is None:
        parts = [_INITIAL.pattern] + ([_SHORT_NUMBER.pattern] if data.ordinal_dot else [])
        if data.abbreviation is not None:
            parts.insert(0, f"(?:{data.abbreviation.pattern})")
        flags = data.abbreviation.flags if data.abbreviation is not None else 0
        pattern = _NO_BREAK[key] = re.compile("|".join(parts), flags)
    return pattern


def _first_non_space(block: str, start: int) -> int:
    found = _NON_SPACE.search(block, start)
    return found.start() if found is not None else len(block)


def _is_label(block: str, first: int, end: int) -> bool:
    """Whether ``block[first:end]`` (``first``: its first character that is not a space) is an enumeration
    label ending in "." or ")" ("1.", "(iv)")."""
    if first >= end or block[end - 1] not in ".)":
        return False
    core_end = _run_start(block, end, ".)", first)
    return core_end - first <= _LABEL_CHARS and bool(_ENUMERATION.match(block[first:core_end]))


def _split_block(block: str, data: LanguageData) -> list[str]:
    sentences: list[str] = []
    start = 0
    first = _first_non_space(block, 0)
    # (_GLUED matches the full stop itself: a pattern that starts with a character, not a lookbehind, is
    # scanned for quickly.)
    ends = sorted({m.end() for m in _BOUNDARY.finditer(block)} | {m.end() for m in _GLUED.finditer(block)})
    for end in ends:
        if _is_label(block, first, end):
            continue
        following = block[end:end + 8]
        if not following[:1].isspace():
            following = " " + following
        if _is_break(block, end, following, data):
            segment = block[start:end].strip()
            if segment:
                sentences.append(segment)
            start = end
            first = _first_non_space(block, start)
    tail = block[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# The versions of one document repeat most of their blocks, and whole
# histories are split again when claims are re-evaluated: split each block once.
@functools.lru_cache(maxsize=32768)
def _block_sentences(block: str, language: str) -> tuple[str, ...]:
    plain = inline_to_plain(block)
    return tuple(_split_block(plain, language_data(language))) if plain else ()


def split_units(text: str, language: str) -> list[Unit]:
    """The sentences of a Markdown or plain text, as plain text, in order, each with its kind of block and lead."""
    language_data(language)
    units: list[Unit] = []
    sentences_of: list[tuple[str, ...]] = []
    for block in _blocks(text):
        sentences = _block_sentences(block.text, language)
        sentences_of.append(sentences)
        lead = sentences_of[block.lead][-1] if block.lead is not None and sentences_of[block.lead] else None
        # The lead-in introduces the item, that is its first sentence.
        units.extend(Unit(sentence, block.kind, lead if i == 0 else None) for i, sentence in enumerate(sentences))
    return units


def split_sentences(text: str, language: str) -> list[str]:
    """The sentences of a Markdown or plain text, as plain text, in order (`split_units`' texts, without
    building the units: the claims engine splits every new version of every source)."""
    language_data(language)
    sentences: list[str] = []
    for block in _blocks(text):
        sentences.extend(_block_sentences(block.text, language))
    return sentences

