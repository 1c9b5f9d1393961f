"""What a news page says about itself, as compiled data: correction notices,
paywall and consent-wall markers (declared in ``news/markers.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from cssselect import GenericTranslator, SelectorError

from analysis.errors import as_written

_FLAGS = re.IGNORECASE | re.UNICODE
_LANGUAGE = re.compile(r"^[a-z]{2}$")


class MarkerError(ValueError):
    """A marker is malformed; ``field`` names it (e.g. ``corrections.de.lead[1]``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CorrectionMarkers:
    lead: re.Pattern[str] | None  # opens a paragraph of the article text (MULTILINE)
    title: re.Pattern[str] | None  # anywhere in the headline


@dataclass(frozen=True)
class WallMarkers:
    selectors: tuple[str, ...]  # as declared, for messages
    xpaths: tuple[str, ...]  # the same selectors translated once
    phrases: re.Pattern[str] | None  # every language's phrases together: a wall may be in any language


@dataclass(frozen=True)
class Markers:
    corrections: Mapping[str, CorrectionMarkers]
    paywall: WallMarkers
    consent_wall: WallMarkers


def _patterns(value: Any, field: str, flags: int) -> re.Pattern[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise MarkerError(field, "expected a list of regular expressions")
    if not value:
        return None
    for i, p in enumerate(value):
        try:
            re.compile(p, flags)
        except re.error as exc:
            raise MarkerError(f"{field}[{i}]", f"bad regular expression {as_written(p)}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in value), flags)


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MarkerError(field, "expected a mapping")
    return value


def _wall(raw: Any, field: str) -> WallMarkers:
    raw = _mapping(raw, field)
    unknown = sorted(set(raw) - {"selectors", "phrases"})
    if unknown:
        raise MarkerError(field, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: selectors, phrases")
    selectors = raw.get("selectors") or []
    if not isinstance(selectors, list) or not all(isinstance(s, str) and s.strip() for s in selectors):
        raise MarkerError(f"{field}.selectors", "expected a list of CSS selectors")
    xpaths = []
    for i, css in enumerate(selectors):
        try:
            xpaths.append(GenericTranslator().css_to_xpath(css))
        except SelectorError as exc:
            raise MarkerError(f"{field}.selectors[{i}]", f"invalid CSS selector {css!r}: {exc}") from None
    phrases = []
    for language, patterns in _mapping(raw.get("phrases"), f"{field}.phrases").items():
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise MarkerError(f"{field}.phrases", f"{language!r} is not a two-letter language code")
        if _patterns(patterns, f"{field}.phrases.{language}", _FLAGS) is not None:
            phrases += list(patterns) if isinstance(patterns, list) else [patterns]
    return WallMarkers(tuple(selectors), tuple(xpaths), _patterns(phrases or None, f"{field}.phrases", _FLAGS))


def compile_markers(raw: Mapping[str, Any]) -> Markers:
    """Compile ``{corrections: {lang: {lead, title}}, paywall: {selectors, phrases}, consent_wall: …}``."""
    raw = _mapping(raw, "markers")
    unknown = sorted(set(raw) - {"corrections", "paywall", "consent_wall"})
    if unknown:
        raise MarkerError("markers", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                     "allowed: corrections, paywall, consent_wall")
    corrections: dict[str, CorrectionMarkers] = {}
    for language, entry in _mapping(raw.get("corrections"), "corrections").items():
        where = f"corrections.{language}"
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise MarkerError("corrections", f"{language!r} is not a two-letter language code")
        entry = _mapping(entry, where)
        extra = sorted(set(entry) - {"lead", "title"})
        if extra:
            raise MarkerError(where, f"unknown key(s) {', '.join(map(repr, extra))}; allowed: lead, title")
        corrections[language] = CorrectionMarkers(
            lead=_patterns(entry.get("lead"), f"{where}.lead", _FLAGS | re.MULTILINE),
            title=_patterns(entry.get("title"), f"{where}.title", _FLAGS),
        )
    return Markers(corrections, _wall(raw.get("paywall"), "paywall"), _wall(raw.get("consent_wall"), "consent_wall"))
