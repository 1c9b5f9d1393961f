"""What the spider hands to the pipelines: one item per source per crawl."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.record import RawPage


@dataclass(frozen=True)
class FetchFailure:
    kind: str  # see crawler.guard.FAILURE_KINDS
    detail: str
    http_status: int | None = None
    url: str | None = None
    text: str | None = None  # the refused text, when the guard refused an extracted text (too_short)


@dataclass
class FetchedDocument:
    """All pages of one source (several URLs are one document), or why they could not be had."""

    source_id: str
    pages: list[RawPage] = field(default_factory=list)
    failure: FetchFailure | None = None
