"""The two ways extraction can refuse: a page that yields no text, a filter that is badly declared."""

from __future__ import annotations

from storage.vocabulary import FailureKind

EXTRACTION_ERROR_KINDS = (FailureKind.SELECTOR_MISS, FailureKind.EMPTY, FailureKind.DECODE_ERROR,
                          FailureKind.INVALID_SELECTOR)


class ExtractionError(Exception):
    """A page that must not become a version; ``kind`` is one of EXTRACTION_ERROR_KINDS."""

    def __init__(self, kind: str, detail: str):
        if kind not in EXTRACTION_ERROR_KINDS:
            raise ValueError(f"unknown extraction error kind {kind!r}; expected one of {EXTRACTION_ERROR_KINDS}")
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail

    def __reduce__(self):  # keep it picklable across process pools despite the two-argument constructor
        return (type(self), (self.kind, self.detail))


class FilterSpecError(ValueError):
    """A filter declaration that cannot be used; ``field`` names the offending key, e.g. ``replace[1].pattern``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self):
        return (type(self), (self.field, self.message))
