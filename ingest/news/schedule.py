"""When a known article is fetched again: one, seven and thirty days after it was first seen.

Newsrooms correct and update stories in the first hours and days; a month
later an article rarely changes. Each re-fetch that finds a different text
records a new version (a correction when the page says so).
"""

from __future__ import annotations

from datetime import datetime, timedelta

REFETCH_AFTER: tuple[timedelta, ...] = (timedelta(days=1), timedelta(days=7), timedelta(days=30))
# A nightly job starts a little earlier or later each night (a randomised timer, a slow feed before the
# articles): a check falling due within this margin is made tonight rather than a day late.
DUE_MARGIN = timedelta(hours=3)


def next_check(first_seen: datetime, now: datetime) -> datetime | None:
    """The first point of the schedule still ahead at `now`; None when the schedule is done.

    A night that was missed is not made up twice: after a late check the
    next one is the next point still ahead.
    """
    for offset in REFETCH_AFTER:
        when = first_seen + offset
        if when > now + DUE_MARGIN:
            return when
    return None


def is_due(next_check_at: datetime | None, now: datetime) -> bool:
    return next_check_at is not None and next_check_at <= now + DUE_MARGIN
