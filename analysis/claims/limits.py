"""The claims engine's bounds, apart from the engine: the configuration reads them at every start-up."""

from __future__ import annotations

# Seconds one claim may spend matching one document (``analysis.claims.matching``).
DEFAULT_TIME_LIMIT = 2.0
