"""Claim declarations: ``claims/*.yaml`` loaded and validated into ``analysis.claims`` values.

A file holds a ``claims:`` list. Each claim::

    id: openai/chat-history-can-be-turned-off     # vendor/slug, unique
    vendor: OpenAI
    topics: [controls]                            # flag categories
    statement: {en: ..., de: ..., fr: ...}        # en required
    said_by: who made the claim
    first_appearance: {url: https://..., date: 2024-06-10, title: ...}
    scope: [openai/privacy-policy-*]              # source-id globs; default: every source of the vendor
    evidence:                                     # matchers by role (analysis.claims.compile)
      supports: [{id: ..., en: {patterns: [...]}, expect: {...}}]
      contradicts: [...]
      successors: [...]
    require_all: [id, [id, id]]                   # supports groups; or {supports: [...], contradicts: [...]}
    mentions: {en: {patterns: [...]}, de: ..., fr: ...}   # finding the claim in press articles
    note: ...

Every error names the file, the claim id and the field; a file with an
error yields no claims, and neither does a directory holding such a file.
YAML aliases, deep nesting and oversized files are refused
(``ingest.safeyaml``, through ``ingest.declarations.read_declarations``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


from analysis.siteids import folder_problem
from analysis.claims.compile import SpecError, compile_language_condition, compile_matcher, reuse_matcher
from analysis.claims.model import Claim, FirstAppearance, Group, Matcher
from analysis.claims.vocabulary import Role
from analysis.rules import LANGUAGES, Condition
from analysis.vocabulary import FlagCategory
from ingest import BUNDLED_CLAIMS  # noqa: F401 (also named from here)
from ingest.declarations import DeclarationError, read_declarations

CLAIM_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)+$")
SCOPE_PATTERN = re.compile(r"^[a-z0-9*?\[\]!/._-]+$")
REQUIRED = ("id", "vendor", "statement", "evidence")
OPTIONAL = ("topics", "said_by", "first_appearance", "scope", "require_all", "mentions", "note")
FIRST_APPEARANCE_KEYS = ("url", "date", "title")


class ClaimDeclarationError(DeclarationError):
    """A claims file is malformed: the message names the file, the claim id and the field."""

    declares = "claim"

    @property
    def claim_id(self) -> str | None:
        return self.source_id


@dataclass
class _Draft:
    """A claim read from its file, its refs not yet resolved."""

    path: Path
    raw: Mapping[str, Any]
    fields: dict[str, Any]
    matchers: list[tuple[Role, str, Mapping[str, Any], Matcher | None]]  # role, field, declaration, compiled


def _fail(path: Path, claim_id: str | None, field_name: str | None, message: str) -> ClaimDeclarationError:
    return ClaimDeclarationError(path, message, claim_id, field_name)


def _text(value: Any, path: Path, cid: str, name: str, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, cid, name, "must be a non-empty string")
    return " ".join(value.split())


def _statement(value: Any, path: Path, cid: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _fail(path, cid, "statement", f"must be a mapping of language ({', '.join(LANGUAGES)}) to text")
    unknown = sorted(set(map(str, value)) - set(LANGUAGES))
    if unknown:
        raise _fail(path, cid, f"statement.{unknown[0]}", f"unknown language; allowed: {', '.join(LANGUAGES)}")
    if "en" not in value:
        raise _fail(path, cid, "statement.en", "is required")
    return {lang: _text(value[lang], path, cid, f"statement.{lang}", True) for lang in LANGUAGES if lang in value}


def _topics(value: Any, path: Path, cid: str) -> tuple[FlagCategory, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, cid, "topics", "must be a list of flag categories")
    out = []
    for item in value:
        try:
            out.append(FlagCategory(item))
        except ValueError:
            raise _fail(path, cid, "topics", f"{item!r} is not a flag category; allowed: "
                                             f"{', '.join(FlagCategory)}") from None
    return tuple(dict.fromkeys(out))


def _first_appearance(value: Any, path: Path, cid: str) -> FirstAppearance | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(path, cid, "first_appearance", "must be a mapping with url, date (YYYY-MM-DD) and optional title")
    unknown = sorted(set(value) - set(FIRST_APPEARANCE_KEYS))
    if unknown:
        raise _fail(path, cid, f"first_appearance.{unknown[0]}", f"unknown key; allowed: {', '.join(FIRST_APPEARANCE_KEYS)}")
    url = value.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(path, cid, "first_appearance.url", f"{url!r} is not an absolute http(s) URL")
    raw_date = value.get("date")
    if isinstance(raw_date, dt.datetime):
        day = raw_date.date()
    elif isinstance(raw_date, dt.date):
        day = raw_date
    else:
        try:
            day = dt.date.fromisoformat(str(raw_date))
        except ValueError:
            raise _fail(path, cid, "first_appearance.date", f"{raw_date!r} is not a date such as 2024-06-10") from None
    return FirstAppearance(url=url, date=day, title=_text(value.get("title"), path, cid, "first_appearance.title"))


def _scope(value: Any, path: Path, cid: str, source_ids: Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and SCOPE_PATTERN.match(v) for v in items):
        raise _fail(path, cid, "scope", "must be a list of source ids or glob patterns such as 'openai/privacy-policy-*'")
    if source_ids is not None:
        known = list(source_ids)
        for pattern in items:
            if not any(fnmatch.fnmatchcase(sid, pattern) for sid in known):
                raise _fail(path, cid, "scope", f"{pattern!r} matches no declared source")
    return tuple(items)


def _mentions(value: Any, path: Path, cid: str) -> tuple[dict[str, Condition], dict[str, dict[str, tuple[str, ...]]]]:
    if value is None:
        return {}, {}
    if not isinstance(value, Mapping):
        raise _fail(path, cid, "mentions", f"must be a mapping of language ({', '.join(LANGUAGES)}) to a condition")
    unknown = sorted(set(map(str, value)) - set(LANGUAGES))
    if unknown:
        raise _fail(path, cid, f"mentions.{unknown[0]}", f"unknown language; allowed: {', '.join(LANGUAGES)}")
    conditions, spec = {}, {}
    for lang in LANGUAGES:
        if lang in value:
            try:
                conditions[lang], spec[lang] = compile_language_condition(value[lang], f"mentions.{lang}")
            except SpecError as exc:
                raise _fail(path, cid, exc.field, str(exc)) from None
    return conditions, spec


def _matcher_drafts(value: Any, path: Path, cid: str) -> list[tuple[Role, str, Mapping[str, Any], Matcher | None]]:
    if not isinstance(value, Mapping):
        raise _fail(path, cid, "evidence", f"must be a mapping of role ({', '.join(Role)}) to a list of matchers")
    drafts: list[tuple[Role, str, Mapping[str, Any], Matcher | None]] = []
    seen: set[str] = set()
    for role_name, items in value.items():
        try:
            role = Role(role_name)
        except ValueError:
            raise _fail(path, cid, f"evidence.{role_name}", f"unknown role; allowed: {', '.join(Role)}") from None
        if not isinstance(items, list):
            raise _fail(path, cid, f"evidence.{role}", "must be a list of matchers")
        for i, item in enumerate(items):
            label = item.get("id") if isinstance(item, Mapping) and isinstance(item.get("id"), str) else str(i)
            field_name = f"evidence.{role}[{label}]"
            if not isinstance(item, Mapping):
                raise _fail(path, cid, field_name, "must be a mapping with an 'id' and conditions per language, or a 'ref'")
            compiled = None
            try:
                if "ref" not in item:
                    compiled = compile_matcher(item, role, field_name)
            except SpecError as exc:
                raise _fail(path, cid, exc.field, str(exc)) from None
            matcher_id = compiled.id if compiled is not None else item.get("id")
            if isinstance(matcher_id, str):
                if matcher_id in seen:
                    raise _fail(path, cid, f"{field_name}.id", f"matcher id {matcher_id!r} is used twice in this claim")
                seen.add(matcher_id)
            drafts.append((role, field_name, item, compiled))
    if not any(role is not Role.SUCCESSORS for role, *_ in drafts):
        raise _fail(path, cid, "evidence", "needs at least one 'supports' or 'contradicts' matcher")
    return drafts


def _draft(entry: Any, index: int, path: Path, source_ids: Iterable[str] | None) -> _Draft:
    if not isinstance(entry, Mapping):
        raise _fail(path, None, f"claims[{index}]", "must be a mapping")
    cid = entry.get("id") if isinstance(entry.get("id"), str) else f"claims[{index}]"
    unknown = sorted(set(map(str, entry)) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(path, cid, unknown[0], f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                                           f"{', '.join(REQUIRED + OPTIONAL)}")
    for name in REQUIRED:
        if entry.get(name) in (None, "", [], {}):
            raise _fail(path, cid, name, "is required")
    if not CLAIM_ID.match(entry["id"]):
        raise _fail(path, cid, "id", "must be lower-case words separated by '/', starting with the vendor, "
                                     "e.g. 'openai/chat-history-can-be-turned-off'")
    problem = folder_problem(entry["id"])
    if problem is not None:
        raise _fail(path, cid, "id", f"cannot be the report's folders: {problem}")
    mentions, mention_spec = _mentions(entry.get("mentions"), path, cid)
    fields = {
        "id": cid,
        "vendor": _text(entry["vendor"], path, cid, "vendor", True),
        "statement": _statement(entry["statement"], path, cid),
        "topics": _topics(entry.get("topics"), path, cid),
        "said_by": _text(entry.get("said_by"), path, cid, "said_by"),
        "first_appearance": _first_appearance(entry.get("first_appearance"), path, cid),
        "scope": _scope(entry.get("scope"), path, cid, source_ids),
        "mentions": mentions,
        "mention_spec": mention_spec,
        "note": _text(entry.get("note"), path, cid, "note"),
        "declared_in": str(path.absolute()),  # the full path `claims show --json` gives, whatever --claims said
    }
    return _Draft(path=path, raw=entry, fields=fields, matchers=_matcher_drafts(entry["evidence"], path, cid))


def _require_all(value: Any, matchers: tuple[Matcher, ...], path: Path, cid: str) -> dict[Role, tuple[Group, ...]]:
    if value is None:
        return {}
    by_role = {Role.SUPPORTS: value} if isinstance(value, list) else value
    if not isinstance(by_role, Mapping):
        raise _fail(path, cid, "require_all", "must be a list of matcher ids (supports) or a mapping of role to such a list")
    out: dict[Role, tuple[Group, ...]] = {}
    for role_name, groups in by_role.items():
        if role_name not in (Role.SUPPORTS, Role.CONTRADICTS):
            raise _fail(path, cid, f"require_all.{role_name}", "only 'supports' and 'contradicts' take require_all")
        role = Role(role_name)
        ids = {m.id for m in matchers if m.role is role}
        if not isinstance(groups, list) or not groups:
            raise _fail(path, cid, f"require_all.{role}", "must be a non-empty list of matcher ids or lists of ids")
        parsed = []
        for group in groups:
            members = [group] if isinstance(group, str) else group
            if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
                raise _fail(path, cid, f"require_all.{role}", f"{group!r} is not a matcher id or a list of ids")
            for member in members:
                if member not in ids:
                    raise _fail(path, cid, f"require_all.{role}", f"{member!r} is not a {role} matcher of this claim; "
                                                                  f"known: {', '.join(sorted(ids)) or 'none'}")
            parsed.append(frozenset(members))
        out[role] = tuple(parsed)
    return out


def _resolve(drafts: Mapping[str, _Draft]) -> list[Claim]:
    resolved: dict[tuple[str, str], Matcher] = {}
    for cid, draft in drafts.items():
        for _, _, _, compiled in draft.matchers:
            if compiled is not None:
                resolved[(cid, compiled.id)] = compiled

    def lookup(cid: str, role: Role, field_name: str, item: Mapping[str, Any], chain: tuple[str, ...]) -> Matcher:
        draft = drafts[cid]
        ref = item.get("ref")
        if not isinstance(ref, str) or ref.count("#") != 1:
            raise _fail(draft.path, cid, f"{field_name}.ref", f"{ref!r} must name a matcher as 'claim-id#matcher-id'")
        if ref in chain:
            raise _fail(draft.path, cid, f"{field_name}.ref", f"refs go round in a circle: {' → '.join(chain + (ref,))}")
        target_claim, target_id = ref.split("#")
        target_draft = drafts.get(target_claim)
        if target_draft is None:
            raise _fail(draft.path, cid, f"{field_name}.ref", f"no claim {target_claim!r} is declared")
        target = resolved.get((target_claim, target_id))
        if target is None:
            match = next(((r, f, i) for r, f, i, _ in target_draft.matchers if i.get("id") == target_id), None)
            if match is None:
                raise _fail(draft.path, cid, f"{field_name}.ref", f"claim {target_claim!r} has no matcher {target_id!r}")
            target = lookup(target_claim, match[0], match[1], match[2], chain + (ref,))
        try:
            return reuse_matcher(target, ref, item, role, field_name)
        except SpecError as exc:
            raise _fail(draft.path, cid, exc.field, str(exc)) from None

    claims = []
    for cid, draft in drafts.items():
        matchers = []
        for role, field_name, item, compiled in draft.matchers:
            if compiled is None:
                compiled = lookup(cid, role, field_name, item, (f"{cid}#{item.get('id', '?')}",))
                resolved.setdefault((cid, compiled.id), compiled)
            matchers.append(compiled)
        ids = [m.id for m in matchers]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise _fail(draft.path, cid, "evidence", f"matcher id {duplicate!r} is used twice in this claim")
        fields = dict(draft.fields)
        fields["matchers"] = tuple(matchers)
        fields["require_all"] = _require_all(draft.raw.get("require_all"), tuple(matchers), draft.path, cid)
        claims.append(Claim(**fields))
    return claims


def _read(path: Path) -> list[Any]:
    data = read_declarations(path, ClaimDeclarationError)
    if not isinstance(data, Mapping) or not isinstance(data.get("claims"), list):
        raise ClaimDeclarationError(path, "expected a mapping with a 'claims:' list")
    unknown = sorted(set(map(str, data)) - {"claims"})
    if unknown:
        raise ClaimDeclarationError(path, f"unknown top-level key(s) {', '.join(map(repr, unknown))}; allowed: claims")
    return list(data["claims"])


def declared_ids(location: Path | str) -> set[str]:
    """The ids of the claims declared under `location`, read without validating them (`load_claims` validates):
    enough to tell which recorded claims an evaluation with them would end."""
    return {str(entry["id"]) for path in claim_files(Path(location)) for entry in _read(path)
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)}


def claim_files(location: Path) -> list[Path]:
    if location.is_dir():
        return sorted(p for p in location.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if location.is_file():
        return [location]
    raise ClaimDeclarationError(location, "no such file or directory of claims")


def unmatched_scopes(claims: Iterable[Claim], vendors: Mapping[str, str], recorded: Iterable[str] = ()) -> list[str]:
    """A warning for each claim with ``scope`` patterns that match none of the declared sources (``vendors``: each
    declared source's vendor, by id) and none the record holds (``recorded``) while its vendor has declared
    sources: most often a mistyped id, which leaves the claim less (or nothing) to read and may end its record.
    Not an error: a claims file may name documents of the vendor that these declarations leave out. A claim about
    a vendor none of whose sources is declared (a bundled claim beside a user's own sources) gets none."""
    known = [*vendors, *recorded]
    found = []
    for claim in claims:
        unmatched = [p for p in claim.scope if not any(fnmatch.fnmatchcase(sid, p) for sid in known)]
        if not unmatched:
            continue
        own = sorted(sid for sid, vendor in vendors.items() if vendor.casefold() == claim.vendor.casefold())
        if own:
            what = ("the claim has nothing to read" if len(unmatched) == len(claim.scope)
                    else "the claim reads only what its other patterns match")
            found.append(f"{claim.declared_in}: claim {claim.id!r}: field 'scope': "
                         f"{', '.join(repr(p) for p in unmatched)} match{'es' if len(unmatched) == 1 else ''} no "
                         f"source declared or recorded, so {what} (a mistyped id?); {claim.vendor}'s declared "
                         f"sources are {', '.join(own)}")
    return found


def load_claims(location: Path | str = BUNDLED_CLAIMS, source_ids: Iterable[str] | None = None) -> list[Claim]:
    """Every claim declared under ``location`` (a file or a directory), validated, refs resolved.

    ``source_ids``, when given, are the declared sources: a ``scope`` pattern
    that matches none of them is an error.
    """
    location = Path(location)
    known = None if source_ids is None else sorted(source_ids)
    drafts: dict[str, _Draft] = {}
    files = claim_files(location)
    if not files:
        raise ClaimDeclarationError(location, "holds no .yaml claims")
    for path in files:
        for index, entry in enumerate(_read(path)):
            draft = _draft(entry, index, path, known)
            cid = draft.fields["id"]
            if cid in drafts:
                raise _fail(path, cid, "id", f"declared twice (first in {drafts[cid].path})")
            drafts[cid] = draft
    return _resolve(drafts)
