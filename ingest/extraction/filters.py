"""Filter declarations: what a filter is, the built-in ones, and parsing one from YAML.

A filter acts at up to three stages of extraction: ``drop`` removes elements
from the HTML tree, ``strip_query_params`` edits link and image URLs, and
``replace`` / ``typography`` edit the Markdown text. How the stages are applied
lives in ``transforms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Mapping

from analysis.errors import as_written

from .errors import FilterSpecError
from .noise import DATE_ORDERS, MONTH_FIRST, DAY_FIRST
from .selectors import validate_selector


def _as_tuple(value: object) -> tuple:
    # A lone string would otherwise become a tuple of its characters.
    if isinstance(value, str):
        return (value,)
    return tuple(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FilterSpec:
    name: str
    strip_query_params: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()
    typography: bool = False
    # See .noise: addresses hidden by Cloudflare put back; full dates written as ISO 8601, numeric ones read in
    # this order ("month-first" or "day-first"); lines that are only interface strings or language names dropped.
    cloudflare_emails: bool = False
    dates: str = ""
    ui_strings: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "strip_query_params", _as_tuple(self.strip_query_params))
        object.__setattr__(self, "drop", _as_tuple(self.drop))
        object.__setattr__(self, "replace", tuple((str(p), str(r)) for p, r in self.replace))


_TRACKING_PARAMS = (
    "utm_*", "fbclid", "gclid", "mc_cid", "mc_eid",
    "openaicom-did", "openaicom_referred", "_hsenc", "_hsmi",
)

# Per-request ids seen appended to outbound links: a generic "redirect_id",
# "rid" and "ref_id", and Reddit's "rdt" (OpenAI's trackers policy links to it).
_REDIRECT_ID_PARAMS = ("redirect_id", "rid", "ref_id", "rdt")

_NUMBER_EN = r"(?:\d+|an?|one)"
_UNIT_EN = r"(?:second|minute|hour|day|week|month|year)s?"
_NUMBER_DE = r"(?:\d+|einer?|einem)"
_UNIT_DE = r"(?:Sekunden?|Minuten?|Stunden?|Tag(?:en)?|Wochen?|Monat(?:en)?|Jahr(?:en)?)"
_NUMBER_FR = r"(?:\d+|une?)"
_UNIT_FR = r"(?:secondes?|minutes?|heures?|jours?|semaines?|mois|ans?|années?)"
_EMPHASIS = r"(?:\*\*|_)?"
_START = _EMPHASIS + r"(?<![^\W_])"  # "not after a letter or digit"; \b would refuse a leading "_"

# Each relative date: a word it must contain, what may precede its core, and its core (what it must find, the
# optional emphasis around it aside).
_RELATIVE_DATE_FORMS = (
    # "Updated: 20 days ago", "**Last updated:** 3 hours ago", "Updated yesterday"
    ("updated", r"(?:last\s+)?",
     rf"updated[*_:\s]+(?:{_NUMBER_EN}\s+{_UNIT_EN}\s+ago\b|yesterday\b|today\b|just\s+now\b)"),
    # "vor 5 Tagen aktualisiert", "Aktualisiert vor 5 Tagen"
    ("aktualisiert", "",
     rf"(?:vor\s+{_NUMBER_DE}\s+{_UNIT_DE}\s+aktualisiert|aktualisiert[*_:\s]+vor\s+{_NUMBER_DE}\s+{_UNIT_DE})\b"),
    # "mis à jour il y a 2 jours"
    ("jour", "", rf"mis\s+à\s+jour[*_:\s]+il\s+y\s+a\s+{_NUMBER_FR}\s+{_UNIT_FR}(?!\w)"),
)
_RELATIVE_DATES = tuple((rf"(?i){_START}{lead}{core}\.?{_EMPHASIS}", "") for _, lead, core in _RELATIVE_DATE_FORMS)

@dataclass(frozen=True)
class Gate:
    """What a text must hold, in any case, for a pattern to change it: `word` (lower-case ASCII letters) and
    `core` (an expression); `anchored` when every match of `core` starts with `word`."""

    word: str
    core: str
    anchored: bool


# Quick searches before each pattern above, which, starting with optional emphasis and a lookbehind, is tried
# at every position of the text: its word, then its core; each found wherever the pattern is, so a text without
# them is one the pattern cannot change. The word alone would let a policy's own "Updated: April 2024" or
# "Zuletzt aktualisiert am" run the whole pattern; the core alone, where it starts with an alternation, takes
# longer to look for than a word.
PATTERN_GATES: Mapping[str, Gate] = MappingProxyType({
    pattern: Gate(word, core, anchored=core.startswith(word))
    for (pattern, _), (word, _, core) in zip(_RELATIVE_DATES, _RELATIVE_DATE_FORMS)
})

# OpenAI marks external links with a visually hidden "(opens in a new window)",
# preceded by a U+2060 word joiner that glues it to the link text.
_OPENS_IN_NEW_WINDOW = ((r"(?i)[\u2060 \t]*\(opens in a new window\)", ""),)

BUILTIN_FILTERS: Mapping[str, FilterSpec] = MappingProxyType({
    "typography": FilterSpec("typography", typography=True),
    "tracking-params": FilterSpec("tracking-params", strip_query_params=_TRACKING_PARAMS),
    "opens-in-new-window": FilterSpec("opens-in-new-window", replace=_OPENS_IN_NEW_WINDOW),
    "relative-dates": FilterSpec("relative-dates", replace=_RELATIVE_DATES),
    "redirect-ids": FilterSpec("redirect-ids", strip_query_params=_REDIRECT_ID_PARAMS),
    "cloudflare-emails": FilterSpec("cloudflare-emails", cloudflare_emails=True),
    "date-formats": FilterSpec("date-formats", dates=MONTH_FIRST),
    "date-formats-day-first": FilterSpec("date-formats-day-first", dates=DAY_FIRST),
    "ui-strings": FilterSpec("ui-strings", ui_strings=True),
})

# Applied to every source before its own filters. Only what restores the page's own wording belongs here: a
# page without the noise extracts to exactly the same text with or without them.
DEFAULT_FILTERS: tuple[FilterSpec, ...] = (BUILTIN_FILTERS["cloudflare-emails"],)

_KEYS = tuple(f.name for f in fields(FilterSpec) if f.name != "name")


def _string_list(field: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FilterSpecError(field, f"expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise FilterSpecError(f"{field}[{i}]", f"expected a non-empty string, got {item!r}")
    return tuple(value)


def _check_replacement(field: str, pattern: re.Pattern[str], replacement: str) -> None:
    # Group references and escapes in a replacement are only checked when a
    # match is expanded; expand it once against an empty pattern with the same
    # groups so mistakes surface when the declaration is loaded.
    names = {index: name for name, index in pattern.groupindex.items()}
    twin = "".join(f"(?P<{names[i]}>)" if i in names else "()" for i in range(1, pattern.groups + 1))
    try:
        re.compile(twin).sub(replacement, "", count=1)
    except (re.error, IndexError) as exc:
        raise FilterSpecError(field, f"invalid replacement {replacement!r}: {exc}") from None


def _replace_rules(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise FilterSpecError("replace", f"expected a list of {{pattern: ..., with: ...}} mappings, got {type(value).__name__}")
    rules = []
    for i, item in enumerate(value):
        where = f"replace[{i}]"
        if not isinstance(item, Mapping):
            raise FilterSpecError(where, f"expected a mapping with keys 'pattern' and 'with', got {item!r}")
        unknown = sorted(set(map(str, item)) - {"pattern", "with"})
        if unknown:
            raise FilterSpecError(f"{where}.{unknown[0]}", "unknown key; expected 'pattern' and 'with'")
        pattern = item.get("pattern")
        replacement = item.get("with", "")
        if not isinstance(pattern, str) or not pattern:
            raise FilterSpecError(f"{where}.pattern", f"expected a non-empty regular expression string, got {pattern!r}")
        if replacement is None:
            replacement = ""
        if not isinstance(replacement, str):
            raise FilterSpecError(f"{where}.with", f"expected a string, got {type(replacement).__name__}")
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise FilterSpecError(f"{where}.pattern", f"invalid regular expression {as_written(pattern)}: {exc}") from None
        _check_replacement(f"{where}.with", compiled, replacement)
        rules.append((pattern, replacement))
    return tuple(rules)


def parse_filter(name: str, data: Mapping[str, object]) -> FilterSpec:
    """Build a FilterSpec from a declaration mapping; FilterSpecError names the field at fault."""
    if not isinstance(data, Mapping):
        raise FilterSpecError("(filter)", f"expected a mapping with keys among {', '.join(_KEYS)}, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        raise FilterSpecError(unknown[0], f"unknown key; expected one of: {', '.join(_KEYS)}")
    params = _string_list("strip_query_params", data["strip_query_params"]) if "strip_query_params" in data else ()
    drop = _string_list("drop", data["drop"]) if "drop" in data else ()
    for i, css in enumerate(drop):
        try:
            validate_selector(css)
        except ValueError as exc:
            raise FilterSpecError(f"drop[{i}]", str(exc)) from None
    replace = _replace_rules(data["replace"]) if "replace" in data else ()
    flags = {}
    for key in ("typography", "cloudflare_emails", "ui_strings"):
        flags[key] = data.get(key, False)
        if not isinstance(flags[key], bool):
            raise FilterSpecError(key, f"expected true or false, got {flags[key]!r}")
    dates = data.get("dates", "")
    if dates not in ("", *DATE_ORDERS):
        raise FilterSpecError("dates", f"expected one of {', '.join(DATE_ORDERS)}, got {dates!r}")
    return FilterSpec(name=name, strip_query_params=params, drop=drop, replace=replace, dates=dates, **flags)
