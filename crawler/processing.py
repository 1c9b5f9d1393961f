"""From fetched pages to a stored outcome: guard, extract, record.

Live crawls (the storage pipeline) and imports both come through here, so an
imported file is held to exactly the same rules as a fetched page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy.orm import Session, sessionmaker

from crawler.declarations import Source
from crawler.extraction import ExtractionError, combine, extract_html, extract_markdown
from crawler.guard import IMPORTED_TEXT_TYPES, check_pages, content_type_charset
from crawler.items import FetchFailure
from storage.db import transaction
from storage.record import RawPage, record_failure, record_success, upsert_source


@dataclass(frozen=True)
class Result:
    source_id: str
    outcome: str  # first | unchanged | changed | failed
    version_number: int | None = None
    failure: FetchFailure | None = None


def extract_document(source: Source, pages: Sequence[RawPage]) -> str:
    """The normalised text of all pages of a source, combined in declaration order."""
    parts = []
    for page in pages:
        media, charset = content_type_charset(page.content_type)
        if media in IMPORTED_TEXT_TYPES:
            try:
                text = page.body.decode(charset or "utf-8")
            except (UnicodeDecodeError, LookupError) as exc:
                raise ExtractionError("decode_error", f"{page.final_url}: {exc}") from None
            parts.append(extract_markdown(text, source.rules))
        else:
            try:
                parts.append(extract_html(page.body, source.rules, encoding=charset))
            except ExtractionError as exc:
                raise ExtractionError(exc.kind, f"{page.final_url}: {exc.detail}") from None
    return parts[0] if len(parts) == 1 else combine(parts)


def judge(source: Source, pages: Sequence[RawPage]) -> str | FetchFailure:
    """The text to record, or why the fetch must not become a version."""
    failure = check_pages(pages)
    if failure is not None:
        return failure
    try:
        return extract_document(source, pages)
    except ExtractionError as exc:
        last = pages[-1] if pages else None
        return FetchFailure(exc.kind, exc.detail, last.status if last else None, last.final_url if last else None)


def store_outcome(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None) -> Result:
    """Judge the pages and record the result in one transaction."""
    verdict: str | FetchFailure = failure if failure is not None else judge(source, pages)
    with transaction(factory) as session:
        upsert_source(session, source)
        if isinstance(verdict, FetchFailure):
            record_failure(session, run_id=run_id, source_id=source.id, at=at, kind=verdict.kind,
                           detail=verdict.detail, http_status=verdict.http_status, url=verdict.url)
            return Result(source.id, "failed", failure=verdict)
        outcome = record_success(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict)
        number = outcome.version.number if outcome.version is not None else None
        return Result(source.id, outcome.outcome, number)
