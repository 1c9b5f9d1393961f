"""Whether fetched pages can become a version, and with which text: the fetch guard, then extraction.

Live crawls, imports and re-extractions all judge pages here, so an imported
file is held to exactly the same rules as a fetched page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ingest.declarations import Source
from ingest.extraction import ExtractionError, combine, extract_html, extract_markdown
from ingest.guard import (IMPORTED_TEXT_TYPES, TOO_SHORT_FRACTION, check_complete, check_pages, check_text,
                          content_type_charset)
from ingest.results import FetchFailure
from storage.health import FAILING_AFTER_RUNS
from storage.record import RawPage
from storage.vocabulary import FailureKind


def extract_document(source: Source, pages: Sequence[RawPage]) -> str:
    """The normalised text of all pages of a source, combined in declaration order."""
    parts = []
    for page in pages:
        media, charset = content_type_charset(page.content_type)
        if media in IMPORTED_TEXT_TYPES:
            try:
                text = page.body.decode(charset or "utf-8")
            except (UnicodeDecodeError, LookupError) as exc:
                raise ExtractionError(FailureKind.DECODE_ERROR, f"{page.final_url}: {exc}") from None
            parts.append(extract_markdown(text, source.rules))
        else:
            try:
                parts.append(extract_html(page.body, source.rules, encoding=charset))
            except ExtractionError as exc:
                raise ExtractionError(exc.kind, f"{page.final_url}: {exc.detail}") from None
    return parts[0] if len(parts) == 1 else combine(parts)


@dataclass(frozen=True)
class GuardPolicy:
    """How strict the guard is: see `too_short_fraction` and `failing_after_runs` in the configuration."""

    min_fraction: float = TOO_SHORT_FRACTION
    # A page that really got shorter says so every time: the same refused text this many fetches in a row
    # is accepted as the new version, unless it is a shell of the old one (`breadth.Breadth.shell`).
    confirm_after: int = FAILING_AFTER_RUNS


def judge(source: Source, pages: Sequence[RawPage], current: str | None = None,
          min_fraction: float = TOO_SHORT_FRACTION, earlier_ended: Sequence[bool | None] = ()) -> str | FetchFailure:
    """The text to record, or why the fetch must not become a version.

    `earlier_ended`: for each page position, whether the source's latest
    accepted page there ended its document (see `guard.check_complete`).
    """
    failure = check_pages(pages) or check_complete(pages, earlier_ended)
    if failure is not None:
        return failure
    last = pages[-1]
    try:
        text = extract_document(source, pages)
    except ExtractionError as exc:
        return FetchFailure(exc.kind, exc.detail, last.status, last.final_url)
    return check_text(text, current, min_fraction, last.final_url) or text
