"""What ingest reports back: why a fetch was refused, and what became of each source."""

from __future__ import annotations

from dataclasses import dataclass

from storage.vocabulary import FailureKind


@dataclass(frozen=True)
class FetchFailure:
    """Why a fetch must not become a version."""

    kind: FailureKind
    detail: str
    http_status: int | None = None
    url: str | None = None
    text: str | None = None  # the refused text, when the guard refused an extracted text (too_short)


@dataclass(frozen=True)
class SourceResult:
    """What one source came to in a crawl, an import or a re-extraction."""

    source_id: str
    outcome: str  # storage.vocabulary.Outcome, or ingest.reextract.NOTHING_STORED
    version_number: int | None = None
    failure: FetchFailure | None = None
    detail: str | None = None  # why a capture was held for confirmation, or how a held one was confirmed
