"""What the spider hands to the pipelines: one item per source per crawl."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.judge import PreparedPage
from ingest.results import FetchFailure
from storage.record import RawPage


@dataclass
class FetchedDocument:
    """All pages of one source (several URLs are one document), or why they could not be had.

    A failed fetch may still carry the pages it received (a challenge page, an
    error page): they are kept as refused snapshots.
    """

    source_id: str
    pages: list[RawPage] = field(default_factory=list)
    failure: FetchFailure | None = None
    # What the fetch ladder already extracted of each page (None where it did not).
    prepared: list[PreparedPage | None] = field(default_factory=list)
