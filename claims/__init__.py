"""Claim declarations (data, not code): shipped with the package like ``sources/``."""
