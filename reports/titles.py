"""Titles of change pages and feed entries: what changed, in one line.

`OpenAI — Privacy Policy (EU): retention 30 days → 90 days [high]` says more
in a feed reader's list than a word count; the summary and severity are the
ones the change was analysed with. A change the flagger found nothing in is
still described by its size.
"""

from __future__ import annotations

import re
from typing import Protocol

from analysis.vocabulary import Severity

MAX_SUMMARY_CHARS = 140
_ENDS_IN_PUNCTUATION = re.compile(r"[?!.:;…]$")


class Described(Protocol):
    summary: str
    severity: str
    flags: tuple[str, ...]
    words_added: int
    words_removed: int


def joined(head: str, tail: str) -> str:
    """`head: tail`, but `head tail` after a title that ends in its own punctuation (`What is kept? v1 → v2`)."""
    head = head.rstrip()
    return f"{head} {tail}" if _ENDS_IN_PUNCTUATION.search(head) else f"{head}: {tail}"


def shortened(text: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    """`text` on one line, cut at a word boundary with `…` when longer than `limit`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + "…"


def _words(n: int) -> str:
    return f"{n} word" if n == 1 else f"{n} words"


def what_changed(change: Described) -> str:
    """The change's summary (shortened), with its severity when it is flagged; its size when there is no summary."""
    summary = shortened(change.summary or "")
    text = summary or f"{_words(change.words_added)} added, {change.words_removed} removed"
    if change.flags and change.severity in (Severity.HIGH, Severity.MEDIUM, Severity.LOW):
        text += f" [{change.severity}]"
    return text


def change_title(change: Described, vendor: str, title: str) -> str:
    """`Vendor — Document: what changed [severity]`."""
    return joined(f"{vendor} — {title}", what_changed(change))
