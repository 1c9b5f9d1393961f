"""Writing the site: atomic files, and the manifest that makes rebuilds incremental.

The manifest (`.policywatch-site.json` in the output directory) maps every
file the build owns to a hash of what went into it, and groups a source's
files under one hash of that source's record. A file whose inputs hash the
same as last time, and which still exists, is not written again; a source
whose record is unchanged is not even looked at page by page, which is what
keeps a nightly rebuild of a thousand sources short. Files are replaced
atomically, so a reader or web server never sees half a page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import fields, is_dataclass
from functools import lru_cache
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from storage.processes import alive

MANIFEST = ".policywatch-site.json"
FORMAT = 3
# `.<name>.<pid>.tmp`: a file being written; left behind only by a build that was killed.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp$")


@lru_cache(maxsize=None)
def _hashed_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.metadata.get("hashed", True))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        # Shallow: json.dumps calls back here for nested dataclasses.
        return {name: getattr(value, name) for name in _hashed_fields(type(value))}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


def inputs_key(*inputs: Any) -> str:
    data = json.dumps(inputs, default=_plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


class SiteWriter:
    def __init__(self, out: Path, salt: str, full: bool):
        self.out = out
        self.salt = salt
        self.full = full
        self.previous: dict[str, str] = {}  # every file of the last build, units' files included
        self.previous_units: dict[str, dict[str, Any]] = {}
        previous_salt = self._load()
        # Nothing can be reused: a first build, --full, or new templates or code.
        self.everything_stale = full or not self.previous or previous_salt != salt
        self.current: dict[str, str] = {}
        self.units: dict[str, dict[str, Any]] = {}
        self.written = 0
        self.skipped = 0
        self.written_paths: set[str] = set()
        # Pages written again only for parts the search index leaves out (reports.pages.Page.live).
        self.unindexed_rewrites: set[str] = set()
        self._unit_files: dict[str, str] | None = None
        self._dirs: set[Path] = set()
        self._root = str(out)
        self.problems: list[str] = []
        self.damaged_texts: set[tuple[str, int]] = set()
        self._unit_troubled = False

    def _load(self) -> str | None:
        try:
            data = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
            return None
        self.previous = {str(k): str(v) for k, v in data["files"].items()}
        units = data.get("units")
        if isinstance(units, dict):
            for name, unit in units.items():
                if isinstance(unit, dict) and isinstance(unit.get("files"), dict):
                    self.previous_units[str(name)] = unit
                    self.previous.update(unit["files"])
        return str(data.get("salt"))

    def key(self, *inputs: Any) -> str:
        return inputs_key(self.salt, *inputs)

    def fresh(self, path: str, key: str) -> bool:
        """True when `path` was written from the same inputs and is still there (never with --full)."""
        return not self.full and self.previous.get(path) == key and (self.out / path).is_file()

    @staticmethod
    def split_key(settled: str, live: str) -> str:
        """A page's key in two parts: what the search index holds, and what it leaves out."""
        return f"{settled}.{live}"

    def note_rewrite(self, path: str, key: str) -> None:
        """Remember that `path`, about to be written from `key`, differs from the last build only in the part
        of a split key that the search index leaves out."""
        previous = self.previous.get(path, "")
        if not self.full and "." in key and previous.split(".", 1)[0] == key.split(".", 1)[0]:
            self.unindexed_rewrites.add(path)

    def own(self, path: str, key: str) -> None:
        """Record that this build produced (or kept) `path` from inputs hashing to `key`."""
        self.current[path] = key
        if self._unit_files is not None:
            self._unit_files[path] = key

    def keep(self, path: str, key: str) -> None:
        self.own(path, key)
        self.skipped += 1

    def produce(self, path: str, key: str, make: Callable[[], str | bytes]) -> bool:
        """Write `path` unless it is fresh; True when it was written."""
        if self.fresh(path, key):
            self.keep(path, key)
            return False
        self.write(path, make())
        self.own(path, key)
        return True

    def write(self, path: str, data: str | bytes) -> None:
        target = self.out / path
        parent = target.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        temporary = parent / f".{target.name}.{os.getpid()}.tmp"
        temporary.write_bytes(payload)
        os.replace(temporary, target)
        self.written += 1
        self.written_paths.add(path)

    def exists(self, path: str) -> bool:
        return (self.out / path).is_file()

    def keep_unit(self, unit: str, key: str) -> bool:
        """Keep every file of `unit` when it was built from the same inputs and all its files are there."""
        previous = self.previous_units.get(unit)
        if self.full or not previous or previous.get("key") != key:
            return False
        files: dict[str, str] = previous["files"]
        if not all(os.path.isfile(os.path.join(self._root, path)) for path in files):
            return False
        self.skipped += len(files.keys() - self.current.keys())  # a raw snapshot two sources share counts once
        self.current.update(files)
        self.units[unit] = previous
        return True

    def begin_unit(self) -> None:
        self._unit_files = {}
        self._unit_troubled = False

    def end_unit(self, unit: str, key: str) -> None:
        # A unit that left something out is built again next time: the damage is named again, or is gone.
        self.units[unit] = {"key": "" if self._unit_troubled else key, "files": self._unit_files or {}}
        self._unit_files = None
        self._unit_troubled = False

    def problem(self, message: str) -> None:
        """Something the build left out (a damaged raw snapshot or text), named in one line."""
        self._unit_troubled = True
        if message not in self.problems:
            self.problems.append(message)

    def text_damaged(self, source_id: str, number: int, detail: str) -> None:
        """Version `number` of `source_id` no longer reads back as its sha256: its text is left out."""
        self.damaged_texts.add((source_id, number))
        self.problem(f"text of {source_id} version {number} left out: damaged in the database ({detail}); "
                     f"`policywatch check` lists the damage")

    def _remove_stale_temporaries(self) -> list[str]:
        """Half-written files of builds that were killed (their process is gone); a live build's are left."""
        removed = []
        for folder, _, names in os.walk(self.out):
            for name in names:
                match = _TEMPORARY.match(name)
                if match is None or alive(int(match.group(1))):
                    continue
                path = os.path.join(folder, name)
                try:
                    os.unlink(path)
                except OSError:
                    continue
                removed.append(os.path.relpath(path, self.out))
        return removed

    def finish(self) -> list[str]:
        """Save the manifest; remove files an earlier build owned that this one did not produce, and files a
        killed build left half-written."""
        removed = self._remove_stale_temporaries()
        for path in self.previous.keys() - self.current.keys():
            if path.startswith("/") or ".." in Path(path).parts:
                continue  # a hand-edited manifest must not delete anything outside the site
            target = self.out / path
            if target.is_file():
                target.unlink()
                removed.append(path)
        in_units = {path for unit in self.units.values() for path in unit["files"]}
        loose = {path: key for path, key in self.current.items() if path not in in_units}
        manifest = {"format": FORMAT, "salt": self.salt, "files": loose, "units": self.units}
        self.write(MANIFEST, json.dumps(manifest, sort_keys=True, separators=(",", ":")))
        self.written -= 1  # the manifest is bookkeeping, not a page
        return removed

