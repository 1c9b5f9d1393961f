"""The last step of every extraction: one canonical spelling for the same visible text."""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

COMBINED_SEPARATOR = "\n\n- - -\n\n"

# Zero-width characters and the soft hyphen, plus C0 controls other than tab and newline.
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0b-\x1f\x7f]+")
# Space separators (no-break, narrow no-break, en/em/thin/hair, ideographic...) read as one space.
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")

_RUNS = re.compile(r"[ \t]{2,}|\t")
_FENCE = re.compile(r"^[ >]*(`{3,}|~{3,})")


def _fenced_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines strictly inside a closed fenced code block, whose spacing is content."""
    inside: set[int] = set()
    opened_at = -1
    marker = ""
    for i, line in enumerate(lines):
        match = _FENCE.match(line)
        if match is None:
            continue
        run = match.group(1)
        if opened_at < 0:
            opened_at, marker = i, run
        elif run[0] == marker[0] and len(run) >= len(marker) and not line[match.end():].strip():
            inside.update(range(opened_at + 1, i))
            opened_at = -1
    return inside


def normalize_text(text: str) -> str:
    """NFC, no invisible characters, single spaces inside lines, single blank lines, one final newline.

    Leading indentation, quote markers included, is kept (list continuation
    lines need it, also inside block quotes; leading tabs count as four columns). Inside fenced code blocks spacing is content: only
    trailing spaces go and tabs expand to four columns.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    # Every character the two expressions replace is one `str.isprintable` refuses (tests/test_extraction.py
    # checks each), so a line it accepts holds none: only the others are scanned, where scanning the whole
    # text took longer than the rest of this function.
    unprintable = [i for i, line in enumerate(lines) if not line.isprintable()]
    for i in unprintable:
        lines[i] = _SPACES.sub(" ", _INVISIBLE.sub("", lines[i]))
    if unprintable:
        # What follows reads the cleaned text: a fence split by a control character ("~\x00~~") is a fence.
        text = "\n".join(lines)
    if not text.isascii():
        # NFC after the invisible characters are gone: a soft hyphen between a letter and its accent
        # would keep them apart.
        text = unicodedata.normalize("NFC", text)
        lines = text.split("\n")
    code = _fenced_lines(lines) if "``" in text or "~~~" in text else set()
    out: list[str] = []
    blank = False
    for i, line in enumerate(lines):
        if i in code:
            out.append(line.expandtabs(4).rstrip())
            continue
        line = line.rstrip()
        if not line:
            blank = bool(out)
            continue
        body = line.lstrip(" \t>")
        indent = line[: len(line) - len(body)]
        if "\t" in indent:
            indent = indent.expandtabs(4)
        if "  " in body or "\t" in body:
            body = _RUNS.sub(" ", body)
        if blank:
            out.append("")
            blank = False
        out.append(indent + body)
    if not out:
        return ""
    return "\n".join(out) + "\n"


def combine(parts: Sequence[str]) -> str:
    """Several pages of one document, in order, as one normalised text."""
    return normalize_text(COMBINED_SEPARATOR.join(parts))
