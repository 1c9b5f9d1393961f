"""How much one news night may do: the bounds the crawler's settings default to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

GDELT_API = "https://api.gdeltproject.org/api/v2/doc/doc"
# GDELT asks for at most one request every 5 seconds.
GDELT_MIN_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class NightLimits:
    max_candidates: int = 2_000  # new items whose pages are fetched in one night, across every source
    max_refetches: int = 500  # known articles fetched again in one night, the most overdue first
    max_attempts: int = 3  # nights an item whose page cannot be fetched is tried
    syndication_window: timedelta = timedelta(days=30)  # copies are looked for among articles this recent
    mention_time_limit: float = 1.0  # seconds per claim per article version for finding its mentions
    mention_rescan_seconds: float = 120.0  # reading stored articles again after the claims changed, per night
