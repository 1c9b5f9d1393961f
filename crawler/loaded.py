"""What the command has loaded already, handed to the crawl instead of read again.

`policywatch crawl` and `run` read the declarations and compile the claims
before the crawl starts (their errors stop the command first); the spider and
the storage pipeline take those objects from the crawl's settings. Under
`scrapy crawl`, which has no command before it, they read the files
themselves. Scrapy deep-copies a crawl's settings: a `Handed` value is passed
on as it is, not copied (a thousand sources and the compiled claims would cost
about as much to copy as to load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generic, Mapping, TypeVar

from ingest.declarations import Source, load_sources

DECLARED_SOURCES = "POLICYWATCH_DECLARED_SOURCES"
CLAIMS_PLAN = "POLICYWATCH_CLAIMS_PLAN"
MENTIONS_PLAN = "POLICYWATCH_MENTIONS_PLAN"  # the claims a news night looks for mentions of, loaded

T = TypeVar("T")


class Handed(Generic[T]):
    """A value a setting carries by reference."""

    def __init__(self, value: T):
        self.value = value

    def __deepcopy__(self, memo: dict[int, Any]) -> "Handed[T]":
        return self

    def __copy__(self) -> "Handed[T]":
        return self


def handed(settings: Any, name: str) -> Any:
    held = settings.get(name)
    return held.value if isinstance(held, Handed) else None


def declared_sources(settings: Any) -> Mapping[str, Source]:
    """The declared sources: as the command loaded them, or read from `POLICYWATCH_SOURCES`."""
    loaded = handed(settings, DECLARED_SOURCES)
    return loaded if loaded is not None else load_sources(Path(settings.get("POLICYWATCH_SOURCES")))
