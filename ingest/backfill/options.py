"""Where the Wayback Machine is and how politely it is asked: the back-fill's settings, light enough for the
configuration to read at every start-up."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

WAYBACK_CDX = "https://web.archive.org/cdx/search/cdx"
WAYBACK_REPLAY = "https://web.archive.org/web/"
ARCHIVE_HOSTS = ("web.archive.org", "archive.org")
MIN_INTERVAL = 1.0


@dataclass(frozen=True)
class WaybackOptions:
    cdx_url: str = WAYBACK_CDX
    replay_url: str = WAYBACK_REPLAY
    interval: float = MIN_INTERVAL  # seconds between the end of a request and the start of the next
    max_captures: int = 2000  # captures listed per source at most


def polite_interval(options: WaybackOptions) -> float:
    hosts = {urlsplit(options.cdx_url).hostname, urlsplit(options.replay_url).hostname}
    if hosts & set(ARCHIVE_HOSTS):
        return max(options.interval, MIN_INTERVAL)
    return options.interval
