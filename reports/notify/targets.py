"""Notification targets: an Apprise URL and a filter saying which events it wants.

In the settings file (TOML)::

    [[policywatch.notify]]
    url = "mailtos://user:app-password@example.org?to=dpo@example.org"
    name = "DPO mailbox"           # shown on runs.html and in messages of the run (default: scheme and a hash)
    vendors = ["OpenAI"]           # any of these vendors (default: every vendor)
    sources = ["openai/help-*"]    # source ids, shell-style patterns (default: every source)
    flags = ["retention", "training"]   # a change with at least one of these flags (default: any change)
    min_severity = "medium"        # high, medium, low (default: any)
    changes = true                 # announced changes (default true)
    health = true                  # a source starts failing / recovers (default false)
    claims = ["openai/*"]          # claim status changes: claim ids, patterns, or true for all (default none)
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from analysis.errors import UserInputError
from analysis.vocabulary import FlagCategory, Severity
from storage.vocabulary import NotificationKind

FIELDS = ("url", "name", "vendors", "sources", "flags", "min_severity", "changes", "health", "claims")


class NotifyConfigError(UserInputError):
    """A `notify` entry that cannot be used; the message names where it came from and which field."""


@dataclass(frozen=True)
class NotifyTarget:
    url: str
    name: str = ""
    vendors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    min_severity: Severity | None = None
    changes: bool = True
    health: bool = False
    claims: tuple[str, ...] = ()  # claim id patterns; ("*",) for every claim

    def __repr__(self) -> str:  # the URL may hold a password or a token: never in a traceback or a log
        return f"NotifyTarget({self.label!r})"

    @property
    def key(self) -> str:
        """How the record knows the target: the URL's sha256, never the URL."""
        return hashlib.sha256(self.url.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        """The target's name, else its scheme and a short hash: never a part of the URL, where many services
        keep their tokens (even in the host name), since the label is shown on the published runs page."""
        if self.name:
            return self.name
        return f"{self.url.partition('://')[0]} target {self.key[:8]}"

    def wants(self, kind: str, *, vendor: str = "", source_id: str = "", flags: Iterable[str] = (),
              severity: str = "", claim_id: str = "") -> bool:
        """Whether an event with these facts passes this target's filter."""
        if self.vendors and vendor.casefold() not in {v.casefold() for v in self.vendors}:
            return False
        if self.sources and source_id and not any(fnmatch.fnmatchcase(source_id, p) for p in self.sources):
            return False
        if kind == NotificationKind.CHANGE:
            if not self.changes:
                return False
            if self.flags and not set(flags) & set(self.flags):
                return False
            if self.min_severity is not None:
                try:
                    return Severity(severity).rank <= self.min_severity.rank
                except ValueError:
                    return False
            return True
        if kind == NotificationKind.HEALTH:
            return self.health
        # Claim status changes are wanted only when a target names the claims.
        return bool(claim_id) and any(fnmatch.fnmatchcase(claim_id, p) for p in self.claims)


def _strings(value: Any, where: str, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise NotifyConfigError(f"{where}: field {field!r}: expected a list of names, got {value!r}")
    return tuple(v.strip() for v in value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise NotifyConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def parse_target(entry: Any, where: str) -> NotifyTarget:
    """One `notify` entry: a table with `url` and an optional filter."""
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict):
        raise NotifyConfigError(f"{where}: expected a table with at least 'url', got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise NotifyConfigError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
    url = entry.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise NotifyConfigError(f"{where}: field 'url': an Apprise URL such as mailto://… or json://… is required")
    flags = _strings(entry.get("flags", []), where, "flags")
    known_flags = [f.value for f in FlagCategory]
    for flag in flags:
        if flag not in known_flags:
            raise NotifyConfigError(f"{where}: field 'flags': {flag!r} is not one of {', '.join(known_flags)}")
    severity = entry.get("min_severity")
    if severity is not None:
        try:
            severity = Severity(str(severity).lower())
        except ValueError:
            raise NotifyConfigError(f"{where}: field 'min_severity': {severity!r} is not one of high, medium, "
                                    f"low") from None
    claims = entry.get("claims", [])
    if isinstance(claims, bool):
        claims = ("*",) if claims else ()
    else:
        claims = _strings(claims, where, "claims")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise NotifyConfigError(f"{where}: field 'name': expected text, got {name!r}")
    return NotifyTarget(
        url=url.strip(), name=name.strip(), vendors=_strings(entry.get("vendors", []), where, "vendors"),
        sources=_strings(entry.get("sources", []), where, "sources"), flags=flags, min_severity=severity,
        changes=_flag(entry.get("changes", True), f"{where}: field 'changes'"),
        health=_flag(entry.get("health", False), f"{where}: field 'health'"), claims=tuple(claims))


def parse_targets(value: Any, origin: str) -> tuple[NotifyTarget, ...]:
    """The `notify` setting: a list of entries from the settings file, or JSON text (an environment variable)."""
    if isinstance(value, tuple) and all(isinstance(v, NotifyTarget) for v in value):
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise NotifyConfigError(f"{origin}: setting 'notify': expected a JSON list of entries such as "
                                    f'[{{"url": "json://example.org/hook"}}]') from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise NotifyConfigError(f"{origin}: setting 'notify': expected a list of entries ([[policywatch.notify]])")
    targets = tuple(parse_target(entry, f"{origin}: notify entry {n}") for n, entry in enumerate(value, 1))
    seen: dict[str, int] = {}
    for n, target in enumerate(targets, 1):
        if target.key in seen:
            raise NotifyConfigError(f"{origin}: notify entry {n}: the same URL as entry {seen[target.key]}; "
                                    f"give one entry per target")
        seen[target.key] = n
    return targets
