"""What happens to a source, as the claim engine sees it.

Storage turns its records into these events, in time order per source:

- ``SourceVersion``: a version was recorded (the first of the source, or
  the step after a change). ``declaration_changed`` says it was recorded
  under a changed declaration (new URL, selector, combined pages, series):
  evidence that it no longer holds then ends as a tracking change, never as
  the vendor's doing. A ``technical`` change (re-extraction) counts the same.
- ``SourceConfirmed``: a fetch found the current version unchanged.
- ``SourceFailed``: a fetch failed; nothing about the claims changes.
- ``SourceUndeclared``: the source was removed from the declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analysis.claims.model import SourceInfo
from analysis.vocabulary import ChangeKind


@dataclass(frozen=True)
class SourceVersion:
    source: SourceInfo
    number: int
    at: datetime  # when the version was first seen (the change's detected_at)
    text: str
    change_kind: ChangeKind | None = None  # None for a source's first version
    declaration_changed: bool = False

    @property
    def source_id(self) -> str:
        return self.source.id


@dataclass(frozen=True)
class SourceConfirmed:
    source_id: str
    at: datetime


@dataclass(frozen=True)
class SourceFailed:
    source_id: str
    at: datetime
    detail: str = ""


@dataclass(frozen=True)
class SourceUndeclared:
    source_id: str
    at: datetime


SourceEvent = SourceVersion | SourceConfirmed | SourceFailed | SourceUndeclared
