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
from crawler.guard import IMPORTED_TEXT_TYPES, check_pages, check_text, content_type_charset
from crawler.items import FetchFailure
from storage.db import transaction
from policywatch.config import Settings
from storage.record import (RawPage, current_version, record_failure, record_success, refused_in_a_row,
                            text_sha256, upsert_source)


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


@dataclass(frozen=True)
class GuardPolicy:
    """How strict the guard is: see `too_short_fraction` and `failing_after_runs` in the configuration."""

    min_fraction: float = Settings.too_short_fraction
    # A page that really got shorter says so every time: the same refused text
    # this many fetches in a row is accepted as the new version.
    confirm_after: int = Settings.failing_after_runs

    @classmethod
    def from_settings(cls, settings: Settings) -> "GuardPolicy":
        return cls(settings.too_short_fraction, settings.failing_after_runs)


def judge(source: Source, pages: Sequence[RawPage], current: str | None = None,
          min_fraction: float = Settings.too_short_fraction) -> str | FetchFailure:
    """The text to record, or why the fetch must not become a version."""
    failure = check_pages(pages)
    if failure is not None:
        return failure
    last = pages[-1]
    try:
        text = extract_document(source, pages)
    except ExtractionError as exc:
        return FetchFailure(exc.kind, exc.detail, last.status, last.final_url)
    return check_text(text, current, min_fraction, last.final_url) or text


def store_outcome(factory: sessionmaker[Session], run_id: int, source: Source, at: datetime,
                  pages: Sequence[RawPage], failure: FetchFailure | None,
                  policy: GuardPolicy = GuardPolicy()) -> Result:
    """Judge the pages against the current version and record the result, in one transaction."""
    with transaction(factory) as session:
        upsert_source(session, source)
        current = current_version(session, source.id)
        verdict = failure if failure is not None else judge(
            source, pages, current.text if current is not None else None, policy.min_fraction)
        refused = text_sha256(verdict.text) if isinstance(verdict, FetchFailure) and verdict.text else None
        if refused is not None and refused_in_a_row(session, source.id, verdict.kind, refused) + 1 >= policy.confirm_after:
            verdict = verdict.text  # type: ignore[union-attr]
        if isinstance(verdict, FetchFailure):
            record_failure(session, run_id=run_id, source_id=source.id, at=at, kind=verdict.kind,
                           detail=verdict.detail, http_status=verdict.http_status, url=verdict.url,
                           text_sha256=refused)
            return Result(source.id, "failed", failure=verdict)
        outcome = record_success(session, run_id=run_id, source_id=source.id, at=at, pages=pages, text=verdict)
        number = outcome.version.number if outcome.version is not None else None
        return Result(source.id, outcome.outcome, number)
