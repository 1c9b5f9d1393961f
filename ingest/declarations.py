"""Source declarations: YAML files that say what to track and how to extract it.

A declarations file holds an optional ``filters:`` mapping of named, reusable
filters and a ``sources:`` list. Filters named by a source are looked up in the
file's own ``filters:`` first, then among the built-in ones. Every error names
the file, the source id and the field.
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import yaml

from analysis.errors import UserInputError
from analysis.siteids import folder_problem
from ingest import BUNDLED_SOURCES  # noqa: F401 (also named from here)
from ingest.safeyaml import MAX_BYTES, YamlLimitError, load_bounded
from storage.models import SourceFields

from ingest.extraction import (
    BUILTIN_FILTERS,
    ExtractionRules,
    FilterSpec,
    FilterSpecError,
    parse_filter,
    validate_selector,
)

FETCH_MODES = ("http", "browser")
FETCHED_SCHEMES = ("http", "https")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
_LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
_REGION = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_REQUIRED = ("id", "vendor", "title", "document_type", "language", "urls")
# The lengths of the record's columns (storage.models.SourceRow): PostgreSQL refuses a longer value.
_MAX_CHARS = {"id": 200, "vendor": 200, "title": 500, "document_type": 200, "language": 16}
_OPTIONAL = ("select", "remove", "filters", "fetch", "tags", "region")
# Values from a declaration are shown in errors this long at most: a hostile value may be enormous.
_shown = reprlib.Repr()
_shown.maxstring = 80
_shown.maxother = 80
_shown.maxlist = _shown.maxdict = 4
_shown.maxlevel = 2


def shown(value: Any) -> str:
    """A value from a declaration, as an error message shows it: bounded however large it is."""
    return _shown.repr(value)


class DeclarationError(UserInputError):
    """A declaration that cannot be used; the message names the file, the declared id and the field."""

    declares = "source"  # what the id names, in messages

    def __init__(self, path: Path | str, message: str, source_id: str | None = None, field_name: str | None = None):
        where = str(path)
        if source_id:
            where += f": {self.declares} {source_id!r}"
        if field_name:
            where += f": field {field_name!r}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.source_id = source_id
        self.field = field_name


@dataclass(frozen=True, kw_only=True)
class Source(SourceFields):
    """A declared source: what the record keeps about it, and how to fetch and extract it."""

    rules: ExtractionRules
    fetch: str = "http"
    # Where the source must be fetched from (a vantage point such as `eu`): only workers serving that region's
    # queues take it. Empty: anywhere.
    region: str = ""
    declared_in: str = ""
    filter_names: tuple[str, ...] = field(default=())

    @property
    def display_name(self) -> str:
        return f"{self.vendor} — {self.title}"


def _string_list(value: Any, path: Path, sid: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DeclarationError(path, "expected a string or a list of non-empty strings", sid, name)
    return tuple(v.strip() for v in value)


def _selectors(value: Any, path: Path, sid: str, name: str) -> tuple[str, ...]:
    selectors = _string_list(value, path, sid, name)
    for css in selectors:
        try:
            validate_selector(css)
        except ValueError as exc:
            raise DeclarationError(path, str(exc), sid, name) from None
    return selectors


def _url(value: str, path: Path, sid: str) -> str:
    # Other schemes (file:, ftp:) load, so that the crawl records them as a
    # failed fetch of that one source instead of refusing every source.
    parts = urlsplit(value)
    if not parts.scheme or (parts.scheme in FETCHED_SCHEMES and not parts.netloc):
        raise DeclarationError(path, f"{shown(value)} is not an absolute URL with a host", sid, "urls")
    return value


def _named_filters(raw: Any, path: Path) -> dict[str, FilterSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DeclarationError(path, "'filters' must be a mapping of filter name to its settings")
    named: dict[str, FilterSpec] = {}
    for name, data in raw.items():
        if not isinstance(name, str):
            raise DeclarationError(path, f"filter name {shown(name)} must be a string")
        if not isinstance(data, dict):
            raise DeclarationError(path, f"filter {shown(name)} must be a mapping")
        try:
            named[name] = parse_filter(name, data)
        except FilterSpecError as exc:
            raise DeclarationError(path, f"filter {shown(name)}: {exc}", field_name=f"filters.{name}.{exc.field}") from None
    return named


def _source(entry: Any, index: int, path: Path, filters: Mapping[str, FilterSpec]) -> Source:
    if not isinstance(entry, dict):
        raise DeclarationError(path, f"sources[{index}] must be a mapping")
    sid = entry.get("id") if isinstance(entry.get("id"), str) else f"sources[{index}]"
    unknown = sorted(shown(k) for k in set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise DeclarationError(path, f"unknown field(s) {', '.join(unknown[:5])}; allowed: "
                               f"{', '.join(_REQUIRED + _OPTIONAL)}", sid)
    for name in _REQUIRED:
        if entry.get(name) in (None, "", []):
            raise DeclarationError(path, "is required", sid, name)
    for name in ("id", "vendor", "title", "document_type", "language"):
        if not isinstance(entry[name], str):
            raise DeclarationError(path, f"must be a string, not {shown(entry[name])}", sid, name)
        if len(entry[name]) > _MAX_CHARS[name]:
            raise DeclarationError(path, f"{len(entry[name])} characters, over the {_MAX_CHARS[name]} the record "
                                   "keeps", sid, name)
    if not _ID.match(entry["id"]):
        raise DeclarationError(path, "must be lower-case words separated by '/', e.g. 'openai/privacy-policy-eu'", sid, "id")
    problem = folder_problem(entry["id"])
    if problem is not None:
        raise DeclarationError(path, f"cannot be the report's folders: {problem}", sid, "id")
    language = entry["language"]
    if not _LANGUAGE.match(language):
        raise DeclarationError(path, f"{shown(language)} is not a language code such as 'en' or 'de'", sid, "language")
    urls = tuple(_url(u, path, sid) for u in _string_list(entry["urls"], path, sid, "urls"))
    fetch = entry.get("fetch", "http")
    if not isinstance(fetch, str) or fetch not in FETCH_MODES:
        raise DeclarationError(path, f"{shown(fetch)} is not one of {', '.join(FETCH_MODES)}", sid, "fetch")
    region = entry.get("region", "")
    if not isinstance(region, str) or (region and not _REGION.match(region)):
        raise DeclarationError(path, f"{shown(region)} is not a region name such as 'eu' or 'us-east' (lower-case "
                               "letters, digits and '-')", sid, "region")
    filter_names = _string_list(entry.get("filters"), path, sid, "filters")
    specs = []
    for name in filter_names:
        spec = filters.get(name) or BUILTIN_FILTERS.get(name)
        if spec is None:
            known = sorted(set(filters) | set(BUILTIN_FILTERS))
            raise DeclarationError(path, f"no filter named {shown(name)}; known: {', '.join(known)}", sid, "filters")
        specs.append(spec)
    rules = ExtractionRules(
        select=_selectors(entry.get("select"), path, sid, "select"),
        remove=_selectors(entry.get("remove"), path, sid, "remove"),
        filters=tuple(specs),
    )
    return Source(
        id=entry["id"], vendor=entry["vendor"], title=entry["title"],
        document_type=entry["document_type"], language=language, urls=urls, rules=rules,
        fetch=fetch, region=region, tags=_string_list(entry.get("tags"), path, sid, "tags"),
        declared_in=str(path), filter_names=filter_names,
    )


def _text(path: Path, error: type[DeclarationError]) -> str:
    """The file as UTF-8 text, read with a bound; a file in another encoding is named as such."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(path, f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise error(path, f"larger than the {MAX_BYTES} bytes a declarations file may have")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise error(path, "is UTF-16; declarations are UTF-8 text")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(path, f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); declarations are "
                               "UTF-8 text (was it saved as Latin-1?)") from None


def read_declarations(path: Path, error: type[DeclarationError] = DeclarationError) -> Any:
    """A declarations file (sources, news, claims) as plain values: UTF-8, bounded YAML; `error` names the file."""
    try:
        return load_bounded(_text(path, error))
    except YamlLimitError as exc:
        raise error(path, f"refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise error(path, f"not valid YAML: {exc}") from None


# Declarations already read in this process, by file, with the modification time and size they had.
_LOADED: dict[Path, tuple[tuple[int, int], list[Source]]] = {}


def load_file(path: Path) -> list[Source]:
    """The sources a file declares; a file read before in this process and unchanged since is not parsed again."""
    try:
        stat = path.stat()
    except OSError:
        stat = None
    stamp = (stat.st_mtime_ns, stat.st_size) if stat is not None else None
    known = _LOADED.get(path.resolve())
    if known is not None and known[0] == stamp:
        return list(known[1])
    sources = _parse_file(path)
    if stamp is not None:
        _LOADED[path.resolve()] = (stamp, sources)
    return list(sources)


def _parse_file(path: Path) -> list[Source]:
    data = read_declarations(path)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise DeclarationError(path, "expected a mapping with a 'sources:' list")
    unknown = sorted(shown(k) for k in set(data) - {"filters", "sources"})
    if unknown:
        raise DeclarationError(path, f"unknown top-level key(s) {', '.join(unknown[:5])}; allowed: filters, sources")
    filters = _named_filters(data.get("filters"), path)
    return [_source(entry, i, path, filters) for i, entry in enumerate(data["sources"])]


def declaration_files(location: Path) -> list[Path]:
    if location.is_dir():
        return sorted(p for p in location.iterdir() if p.suffix in (".yaml", ".yml"))
    if location.is_file():
        return [location]
    raise DeclarationError(location, "no such file or directory of declarations")


def load_sources(location: Path) -> dict[str, Source]:
    """All declarations under `location` (a file or a directory), keyed by id."""
    sources: dict[str, Source] = {}
    files = declaration_files(location)
    if not files:
        raise DeclarationError(location, "holds no .yaml declarations")
    for path in files:
        for source in load_file(path):
            if source.id in sources:
                raise DeclarationError(path, f"declared twice (first in {sources[source.id].declared_in})", source.id, "id")
            sources[source.id] = source
    return sources


def select_sources(sources: Mapping[str, Source], only: Iterable[str] | None, option: str = "--only") -> list[Source]:
    """The sources named in `only` (all when empty); an unknown id is an error naming `option`, the option that
    gave them."""
    wanted = list(only or [])
    if not wanted:
        return list(sources.values())
    missing = [sid for sid in wanted if sid not in sources]
    if missing:
        raise DeclarationError(option, f"unknown source id(s): {', '.join(missing)}")
    return [sources[sid] for sid in wanted]
