"""A bound on the work one analysis may do: a number of steps, a time, or both.

Analysis code calls ``spend`` as it goes; past the bound it raises
``BudgetExceeded``, and the caller records what it could not finish. Tests
bound steps (deterministic); the crawl bounds time.
"""

from __future__ import annotations

import time


class BudgetExceeded(Exception):
    """The analysis went past its budget."""


class Budget:
    def __init__(self, seconds: float | None = None, steps: int | None = None):
        self.seconds, self.steps = seconds, steps
        self._deadline = time.monotonic() + seconds if seconds is not None else None
        self.spent = 0

    def spend(self, steps: int = 1) -> None:
        self.spent += steps
        if self.steps is not None and self.spent > self.steps:
            raise BudgetExceeded(self.describe())
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise BudgetExceeded(self.describe())

    def describe(self) -> str:
        """What the bound is, for a reader: "20 s", "1,000 steps"."""
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s")
        if self.steps is not None:
            parts.append(f"{self.steps:,} steps")
        return " or ".join(parts) or "no bound"


UNBOUNDED = Budget()
