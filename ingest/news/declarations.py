"""News declarations: which feeds, sitemaps and GDELT queries to read, and the
rules that decide which of their articles matter.

YAML files under ``news/`` (bundled) or wherever the user points. A file may
hold a ``news:`` list of declarations, a ``relevance:`` mapping (vendors and
topic vocabulary, see ``analysis.relevance``) and a ``markers:`` mapping
(corrections, paywall and consent-wall markers, see ``ingest.news.markers``).
A location without relevance rules or markers uses the bundled ones.

Every error names the file, the declaration id and the field, like the
policy sources' declarations. Files are read with limits (size, nesting,
alias expansion): a declaration file is input like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit


import news as _bundled
from analysis.relevance import RelevanceRuleError, RelevanceRules, compile_rules
from ingest.declarations import DeclarationError, read_declarations
from ingest.news.markers import MarkerError, Markers, compile_markers

BUNDLED_DIR = Path(_bundled.__file__).resolve().parent
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_TOP_LEVEL = ("news", "relevance", "markers")
_REQUIRED = ("id", "kind", "language", "outlet", "type")
_OPTIONAL = ("url", "query", "enabled", "max_items", "note")
# A declaration may lower the per-feed limit, never raise it past this.
MAX_ITEMS_CEILING = 10_000


class NewsKind(StrEnum):
    FEED = "feed"  # RSS or Atom
    SITEMAP = "sitemap"  # a news sitemap or a sitemap index
    GDELT = "gdelt"  # a GDELT DOC 2.0 query (opt-in)


class OutletType(StrEnum):
    PRESS = "press"
    REGULATOR = "regulator"
    NGO = "ngo"
    VENDOR = "vendor"


class NewsDeclarationError(DeclarationError):
    declares = "news source"


@dataclass(frozen=True)
class NewsSource:
    id: str
    kind: NewsKind
    language: str
    outlet: str
    type: OutletType
    url: str | None = None  # feed and sitemap
    query: str | None = None  # gdelt
    enabled: bool = True
    max_items: int | None = None  # per-feed limit; None: the run's default
    note: str = ""
    declared_in: str = ""


@dataclass(frozen=True)
class NewsConfig:
    sources: Mapping[str, NewsSource]
    relevance: RelevanceRules
    markers: Markers
    relevance_from: str  # the file the relevance rules came from
    markers_from: str


def _read(path: Path) -> dict[str, Any]:
    data = read_declarations(path, NewsDeclarationError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NewsDeclarationError(path, f"expected a mapping with {', '.join(_TOP_LEVEL)}")
    unknown = sorted(set(map(str, data)) - set(_TOP_LEVEL))
    if unknown:
        raise NewsDeclarationError(path, f"unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                                         f"allowed: {', '.join(_TOP_LEVEL)}")
    return data


def _url(value: Any, path: Path, sid: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise NewsDeclarationError(path, "is required for this kind", sid, "url")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NewsDeclarationError(path, f"{value!r} is not an absolute http(s) URL", sid, "url")
    return value.strip()


def _source(entry: Any, index: int, path: Path) -> NewsSource:
    if not isinstance(entry, dict):
        raise NewsDeclarationError(path, f"news[{index}] must be a mapping")
    sid = entry["id"] if isinstance(entry.get("id"), str) else f"news[{index}]"
    unknown = sorted(set(map(str, entry)) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise NewsDeclarationError(path, f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                                         f"{', '.join(_REQUIRED + _OPTIONAL)}", sid)
    for name in _REQUIRED:
        if entry.get(name) in (None, ""):
            raise NewsDeclarationError(path, "is required", sid, name)
    if not _ID.match(entry["id"]):
        raise NewsDeclarationError(path, "must be lower-case words separated by '/', e.g. 'heise/newsticker'",
                                   sid, "id")
    try:
        kind = NewsKind(entry["kind"])
    except ValueError:
        raise NewsDeclarationError(path, f"{entry['kind']!r} is not one of {', '.join(NewsKind)}", sid, "kind") from None
    try:
        outlet_type = OutletType(entry["type"])
    except ValueError:
        raise NewsDeclarationError(path, f"{entry['type']!r} is not one of {', '.join(OutletType)}",
                                   sid, "type") from None
    language = entry["language"]
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise NewsDeclarationError(path, f"{language!r} is not a two-letter language code such as 'en'", sid, "language")
    if not isinstance(entry["outlet"], str):
        raise NewsDeclarationError(path, "must be a string", sid, "outlet")
    url = query = None
    if kind is NewsKind.GDELT:
        if "url" in entry:
            raise NewsDeclarationError(path, "a gdelt declaration has a 'query', not a 'url'", sid, "url")
        query = entry.get("query")
        if not isinstance(query, str) or not query.strip():
            raise NewsDeclarationError(path, "is required for kind 'gdelt'", sid, "query")
        query = query.strip()
    else:
        if "query" in entry:
            raise NewsDeclarationError(path, f"only a gdelt declaration has a 'query'; a {kind} has a 'url'", sid, "query")
        url = _url(entry.get("url"), path, sid)
    # GDELT is opt-in: its rate limit makes every query a cost.
    enabled = entry.get("enabled", kind is not NewsKind.GDELT)
    if not isinstance(enabled, bool):
        raise NewsDeclarationError(path, "must be true or false", sid, "enabled")
    max_items = entry.get("max_items")
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int)
                                  or not 1 <= max_items <= MAX_ITEMS_CEILING):
        raise NewsDeclarationError(path, f"must be a whole number from 1 to {MAX_ITEMS_CEILING}", sid, "max_items")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise NewsDeclarationError(path, "must be a string", sid, "note")
    return NewsSource(id=entry["id"], kind=kind, language=language, outlet=entry["outlet"].strip(),
                      type=outlet_type, url=url, query=query, enabled=enabled, max_items=max_items,
                      note=note.strip(), declared_in=str(path))


def _files(location: Path) -> list[Path]:
    if location.is_dir():
        return sorted(p for p in location.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if location.is_file():
        return [location]
    raise NewsDeclarationError(location, "no such file or directory of news declarations")


def _rules_and_markers(files: Iterable[Path], data: Mapping[Path, Mapping[str, Any]]
                       ) -> tuple[tuple[Path, Any] | None, tuple[Path, Any] | None]:
    found: dict[str, tuple[Path, Any]] = {}
    for path in files:
        for key in ("relevance", "markers"):
            if key in data[path]:
                if key in found:
                    raise NewsDeclarationError(path, f"'{key}' is declared twice (first in {found[key][0]})")
                found[key] = (path, data[path][key])
    return found.get("relevance"), found.get("markers")


def _compile_relevance(path: Path, raw: Any) -> RelevanceRules:
    try:
        return compile_rules(raw)
    except RelevanceRuleError as exc:
        raise NewsDeclarationError(path, exc.message, field_name=f"relevance.{exc.field}") from None


def _compile_markers(path: Path, raw: Any) -> Markers:
    try:
        return compile_markers(raw)
    except MarkerError as exc:
        raise NewsDeclarationError(path, exc.message, field_name=f"markers.{exc.field}") from None


def load_news(location: Path | None = None) -> NewsConfig:
    """Every news declaration under ``location`` (a file or directory; default: the bundled ``news/``).

    Relevance rules and markers come from the same location when it declares
    them, otherwise from the bundled files.
    """
    location = location or BUNDLED_DIR
    files = _files(location)
    if not files:
        raise NewsDeclarationError(location, "holds no .yaml news declarations")
    data = {path: _read(path) for path in files}
    sources: dict[str, NewsSource] = {}
    for path in files:
        entries = data[path].get("news")
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise NewsDeclarationError(path, "'news' must be a list of declarations")
        for index, entry in enumerate(entries):
            source = _source(entry, index, path)
            if source.id in sources:
                raise NewsDeclarationError(path, f"declared twice (first in {sources[source.id].declared_in})",
                                           source.id, "id")
            sources[source.id] = source
    # `news: []` (or `news:` left empty) reads no news; a location with no `news:` key at all is a mistake.
    if not sources and not any("news" in data[path] for path in files):
        raise NewsDeclarationError(location, "declares no news sources (no 'news:' list; `news: []` for none)")
    relevance, markers = _rules_and_markers(files, data)
    if relevance is None or markers is None:
        bundled_files = _files(BUNDLED_DIR)
        bundled = {path: _read(path) for path in bundled_files}
        bundled_relevance, bundled_markers = _rules_and_markers(bundled_files, bundled)
        relevance = relevance or bundled_relevance
        markers = markers or bundled_markers
    if relevance is None or markers is None:
        raise NewsDeclarationError(BUNDLED_DIR, "the bundled relevance rules or markers are missing")
    return NewsConfig(
        sources=sources,
        relevance=_compile_relevance(*relevance),
        markers=_compile_markers(*markers),
        relevance_from=str(relevance[0]),
        markers_from=str(markers[0]),
    )


def select_news(sources: Mapping[str, NewsSource], only: Iterable[str] | None = None) -> list[NewsSource]:
    """The enabled sources, or exactly those named in ``only`` (enabled or not); an unknown id is an error."""
    wanted = list(only or [])
    if not wanted:
        return [s for s in sources.values() if s.enabled]
    missing = [sid for sid in wanted if sid not in sources]
    if missing:
        raise NewsDeclarationError("--only", f"unknown news source id(s): {', '.join(missing)}")
    return [sources[sid] for sid in wanted]
