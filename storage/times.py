"""Times as the record shows them: UTC, to the second, with a `Z`."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_text(value: datetime) -> str:
    """`2026-01-31T12:00:00Z`: the one way a time is written in messages and JSON."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """An ISO-8601 time, aware; UTC when it names no zone."""
    when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
