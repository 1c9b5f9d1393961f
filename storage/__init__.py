"""The record: every table is declared on ``storage.models.Base``; once ``storage.models`` is imported, the other
model modules are too, so Alembic and the schema test see the whole schema whichever module they import first.

The package itself imports nothing: a command that reads the record with plain SQL (``storage.reader``) or only
needs a vocabulary or a constant does not pay for SQLAlchemy (see bench/startup_speed.py).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Sequence

_MODELS = "storage.models"
# Registers the news, claims, notification and mentions tables on the same metadata.
_OTHER_MODELS = ("storage.news_models", "storage.claims_models", "storage.notify_models", "storage.mentions_models")


class _AllTablesLoader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        for name in _OTHER_MODELS:
            importlib.import_module(name)


class _AllTablesFinder(importlib.abc.MetaPathFinder):
    """Loads ``storage.models`` with a loader that imports the other model modules right after it."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MODELS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or spec.origin is None:
            return spec
        spec.loader = _AllTablesLoader(fullname, spec.origin)
        return spec


if not any(isinstance(finder, _AllTablesFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AllTablesFinder())
