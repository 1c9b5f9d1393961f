"""What the record keeps about a tracked document, apart from the ORM: `storage.reader` reads it without SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SourceFields:
    """What the record keeps about a tracked document, whoever declared it."""

    id: str
    vendor: str
    title: str
    document_type: str
    language: str
    urls: tuple[str, ...]
    tags: tuple[str, ...] = ()
