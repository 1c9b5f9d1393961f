"""Whether a process recorded as working on the record (a run, a lock, a report build) is still there."""

from __future__ import annotations

import os


def _zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet: it still answers signals, but it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def alive(pid: int | None) -> bool:
    """Whether process `pid` on this machine is running (this process included)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)
