"""Claims and their matchers as immutable values.

A ``Claim`` is what a declaration in ``claims/*.yaml`` becomes once
validated (``ingest.claims_declarations``): its statement in each language,
who said it, its scope (which of the vendor's sources count as its own word)
and its matchers by role. A ``Matcher`` holds one compiled condition per
language (the rule format of ``analysis/rules/*.yaml``), an optional
``Expect`` and, for display and fingerprints, the declaration it came from.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
import datetime as dt
from typing import Any
from collections.abc import Mapping

from analysis.claims.expect import Expect, parse_expect
from analysis.claims.vocabulary import Role
from analysis.rules import Condition
from analysis.vocabulary import FlagCategory


def base_language(language: str) -> str:
    """"de" for "de" or "de-AT": matchers are written per language, not per region."""
    return language.split("-", 1)[0].lower()


@dataclass(frozen=True)
class SourceInfo:
    """What the claim engine needs to know about a declared source."""

    id: str
    vendor: str
    language: str

    @property
    def base_language(self) -> str:
        return base_language(self.language)


@dataclass(frozen=True)
class Matcher:
    """One way a sentence of the vendor's documents bears on a claim.

    ``conditions`` maps a language ("en", "de", "fr") to its compiled
    condition; ``spec`` keeps the declared patterns per language for pages
    and fingerprints; ``ref`` names the matcher this one reuses
    (``"claim-id#matcher-id"``) if any.
    """

    id: str
    role: Role
    conditions: dict[str, Condition]
    spec: dict[str, dict[str, tuple[str, ...]]]
    expect: Expect | None = None
    ref: str | None = None
    note: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Matcher:
        """The matcher as recorded by ``to_json``, without compiled conditions: it shows, it cannot match."""
        spec = {lang: {k: tuple(v) for k, v in conditions.items()} for lang, conditions in data["languages"].items()}
        return cls(id=data["id"], role=Role(data["role"]), conditions={}, spec=spec,
                   expect=parse_expect(data["expect"]) if data.get("expect") else None, ref=data.get("ref"),
                   note=data.get("note", ""))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "role": str(self.role),
                               "languages": {lang: {k: list(v) for k, v in spec.items()}
                                             for lang, spec in sorted(self.spec.items())}}
        if self.expect is not None:
            out["expect"] = self.expect.to_json()
        if self.ref:
            out["ref"] = self.ref
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class FirstAppearance:
    url: str
    date: dt.date
    title: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FirstAppearance:
        return cls(url=data["url"], date=dt.date.fromisoformat(data["date"]), title=data.get("title", ""))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "date": self.date.isoformat(), "title": self.title}


# One requirement: the claim needs open evidence from at least one of these matcher ids.
Group = frozenset[str]


@dataclass(frozen=True)
class Claim:
    id: str
    vendor: str
    statement: dict[str, str]
    matchers: tuple[Matcher, ...]
    topics: tuple[FlagCategory, ...] = ()
    said_by: str = ""
    first_appearance: FirstAppearance | None = None
    # Glob patterns over source ids; empty means every source of the vendor.
    scope: tuple[str, ...] = ()
    # Per role, groups that must all hold open evidence: for supports the
    # difference between supported and weakened, for contradicts whether the
    # contradiction counts at all.
    require_all: dict[Role, tuple[Group, ...]] = field(default_factory=dict)
    # Per-language conditions that find the claim in press articles.
    mentions: dict[str, Condition] = field(default_factory=dict)
    mention_spec: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    note: str = ""
    declared_in: str = ""

    def in_scope(self, source: SourceInfo) -> bool:
        """Whether ``source`` counts as the vendor's own word for this claim."""
        if self.scope:
            return any(fnmatch.fnmatchcase(source.id, pattern) for pattern in self.scope)
        return source.vendor.casefold() == self.vendor.casefold()

    def languages(self) -> frozenset[str]:
        return frozenset(lang for m in self.matchers for lang in m.conditions)

    def matcher(self, matcher_id: str) -> Matcher:
        for m in self.matchers:
            if m.id == matcher_id:
                return m
        raise KeyError(f"{self.id}: no matcher {matcher_id!r}")

    def statement_in(self, language: str) -> str:
        """The statement in ``language``, or in English where it has none."""
        return self.statement.get(base_language(language)) or self.statement["en"]

    def evaluation_spec(self) -> dict[str, Any]:
        """Everything the evaluation depends on, as plain JSON (refs resolved)."""
        return {
            "id": self.id,
            "vendor": self.vendor,
            "scope": list(self.scope),
            "matchers": [m.to_json() for m in self.matchers],
            "require_all": {str(role): [sorted(g) for g in groups] for role, groups in sorted(self.require_all.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], declared_in: str = "") -> Claim:
        """A claim as recorded by ``to_json`` (pages, the record's own copy of a declaration).

        Its matchers keep their declared patterns but are not compiled, so it
        shows, scopes and fingerprints like the declared claim but matches
        nothing; ``ingest.claims_declarations`` compiles claims to evaluate them.
        """
        first = data.get("first_appearance")
        return cls(
            id=data["id"], vendor=data["vendor"], statement=dict(data["statement"]),
            matchers=tuple(Matcher.from_json(m) for m in data["matchers"]),
            topics=tuple(FlagCategory(t) for t in data.get("topics", ())), said_by=data.get("said_by", ""),
            first_appearance=None if not first else FirstAppearance.from_json(first),
            scope=tuple(data.get("scope", ())),
            require_all={Role(role): tuple(frozenset(g) for g in groups)
                         for role, groups in data.get("require_all", {}).items()},
            note=data.get("note", ""), declared_in=declared_in,
        )

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of ``evaluation_spec``: a claim whose fingerprint changed needs its history re-evaluated."""
        canonical = json.dumps(self.evaluation_spec(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "topics": [str(t) for t in self.topics],
            "statement": dict(sorted(self.statement.items())),
            "said_by": self.said_by,
            "first_appearance": None if self.first_appearance is None else self.first_appearance.to_json(),
            "scope": list(self.scope),
            "matchers": [m.to_json() for m in self.matchers],
            "require_all": {str(role): [sorted(g) for g in groups] for role, groups in sorted(self.require_all.items())},
            "note": self.note,
            "fingerprint": self.fingerprint,
        }
