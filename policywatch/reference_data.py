"""Where the shared reference data lives, for the tests and the benchmarks.

`../shared` beside the checkout (or `$POLICYWATCH_SHARED`) holds the real
history of OpenAI's policy documents, the labelled policy sets and the article
benchmark. None of it is part of policywatch: it is read from there, never
copied, and whatever needs it says so and stops when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """The shared folder, or None when it is not on this machine."""
    for candidate in (os.environ.get("POLICYWATCH_SHARED"), CHECKOUT.parent / "shared"):
        if candidate and (Path(candidate) / "ota-data").is_dir():
            return Path(candidate)
    return None


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder; SystemExit with what is missing when it is absent (for benchmarks)."""
    base = shared_dir()
    path = base.joinpath(*parts) if base is not None else None
    if path is None or not path.exists():
        raise SystemExit(f"{'/'.join(parts)} not found: put the shared reference data in {CHECKOUT.parent / 'shared'} "
                         f"or point POLICYWATCH_SHARED at it")
    return path
