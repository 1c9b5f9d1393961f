"""What every policywatch command shares: exit statuses and argument types."""

from __future__ import annotations

import argparse
from datetime import datetime

# 0 everything fetched; 1 some sources failed; 2 configuration error or nothing
# could be fetched; 3 another `policywatch run` holds the lock; 4 internal error.
EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_LOCKED, EXIT_CRASH = 0, 1, 2, 3, 4


def time_argument(value: str) -> datetime:
    """An ISO-8601 time on the command line; UTC when it names no zone."""
    from crawler.importer import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO-8601 time such as 2026-01-31T12:00:00Z") from None
