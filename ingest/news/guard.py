"""The news fetch guard: paywalls, consent walls and text-and-data-mining reservations.

A paywall or a consent wall is never circumvented: the page is a failed
fetch of kind ``paywall`` or ``consent_wall``, and the article keeps what the
feed said about it (title, date, link) and nothing more. A consent banner
over a readable article is not a wall; a consent manager with no article
behind it is.

A publisher's reservation of text and data mining (W3C TDMRep: the
``tdm-reservation`` header, the ``<meta name="tdm-reservation">`` tag, or a
rule of ``/.well-known/tdmrep.json``) is honoured downstream: the article
keeps its metadata and the sentences that mention a claim, never its full
text. Any one of the three techniques reserving rights is enough; an explicit
``0`` in one never overrides a ``1`` in another.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from ingest.news.markers import Markers, WallMarkers
from ingest.news.page import Page

# An article this short beside a wall marker is the wall's teaser, not the article.
TEASER_WORDS = 120
# With nothing but a consent manager's markers, only a page with (almost) no
# article text is a wall: regulators' short notices carry banners too.
EMPTY_WORDS = 50
# A page that claims at least this many words (schema.org wordCount) …
CLAIMED_WORDS_MIN = 150
# … and shows less than this share of them is cut short.
SHOWN_SHARE_MIN = 0.5
TDMREP_PATH = "/.well-known/tdmrep.json"
MAX_TDMREP_BYTES = 1_000_000
MAX_TDMREP_RULES = 10_000


class WallKind(StrEnum):
    """Fetch failure kinds of the news guard (beside the policy crawler's)."""

    PAYWALL = "paywall"
    CONSENT_WALL = "consent_wall"


@dataclass(frozen=True)
class Wall:
    kind: WallKind
    detail: str  # what gave it away, for the fetch outcome


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _claimed_words(page: Page) -> int | None:
    for obj in page.jsonld:
        value = obj.get("wordCount")
        try:
            count = int(str(value).replace(",", "").strip()) if value is not None else None
        except ValueError:
            continue
        if count:
            return count
    return None


def _element(page: Page, wall: WallMarkers) -> str | None:
    """The first of ``wall``'s selectors the page has an element for, as a message."""
    for css, xpath in zip(wall.selectors, wall.xpaths):
        if page.tree.xpath(xpath):
            return f"element {css!r}"
    return None


def _phrase(page: Page, wall: WallMarkers) -> str | None:
    if wall.phrases is None:
        return None
    m = wall.phrases.search(page.visible_text)
    return f"text {m.group()!r}" if m else None


def check_walls(page: Page, article_words: int, markers: Markers) -> Wall | None:
    """A paywall or consent wall in front of the article, or None when the article is readable.

    ``article_words`` is the length of the extracted article text (0 when
    nothing was extracted).
    """
    for obj in page.jsonld:
        if _false(obj.get("isAccessibleForFree")):
            kind = obj.get("@type")
            return Wall(WallKind.PAYWALL, f"schema.org {kind or 'object'} says isAccessibleForFree=false")
    tier = (page.meta("article:content_tier") or "").lower()
    if tier == "locked":
        return Wall(WallKind.PAYWALL, "meta article:content_tier=locked")
    claimed = _claimed_words(page)
    if claimed and claimed >= CLAIMED_WORDS_MIN and article_words < SHOWN_SHARE_MIN * claimed:
        return Wall(WallKind.PAYWALL, f"the page claims {claimed} words (schema.org wordCount) and shows {article_words}")
    if article_words >= TEASER_WORDS:
        return None
    # Phrases first: "Weiterlesen mit Z+" names a paywall even where a consent manager is loaded too.
    found = _phrase(page, markers.paywall)
    if found:
        return Wall(WallKind.PAYWALL, f"{found} beside {article_words} words of article")
    found = _phrase(page, markers.consent_wall)
    if found:
        return Wall(WallKind.CONSENT_WALL, f"{found} beside {article_words} words of article")
    found = _element(page, markers.paywall)
    if found:
        return Wall(WallKind.PAYWALL, f"{found} beside {article_words} words of article")
    if article_words < EMPTY_WORDS:
        found = _element(page, markers.consent_wall)
        if found:
            return Wall(WallKind.CONSENT_WALL, f"{found} and {article_words} words of article")
    return None


# ----------------------------------------------------------------- TDMRep

class TdmSource(StrEnum):
    HEADER = "header"
    META = "meta"
    TDMREP_JSON = "tdmrep.json"


@dataclass(frozen=True)
class TdmSignal:
    reserved: bool
    source: TdmSource
    policy: str | None = None
    location: str | None = None  # the tdmrep.json rule that matched


@dataclass(frozen=True)
class TdmReservation:
    reserved: bool
    signals: tuple[TdmSignal, ...]  # every technique that said something, reserved or not

    @property
    def detail(self) -> str:
        if not self.signals:
            return "no TDM reservation declared"
        return "; ".join(f"{s.source}: tdm-reservation={int(s.reserved)}"
                         + (f" (rule {s.location!r})" if s.location else "")
                         + (f", policy {s.policy}" if s.policy else "") for s in self.signals)


@dataclass(frozen=True)
class TdmRule:
    location: str
    reserved: bool
    policy: str | None
    pattern: re.Pattern[str]


class TdmRepError(ValueError):
    """A ``tdmrep.json`` that cannot be read; under TDMRep its rules then count as unset."""


def _reservation_value(value: Any) -> bool | None:
    """1 → reserved, 0 → not reserved; anything else is a protocol error, which TDMRep treats as unset."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return value.strip() == "1"
    return None


def tdm_from_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> TdmSignal | None:
    """The ``tdm-reservation`` (and ``tdm-policy``) response headers, names compared case-insensitively."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(str(name).strip().lower(), str(value))
    reserved = _reservation_value(values.get("tdm-reservation"))
    if reserved is None:
        return None
    return TdmSignal(reserved, TdmSource.HEADER, values.get("tdm-policy", "").strip() or None)


def tdm_from_html(page: Page) -> TdmSignal | None:
    """``<meta name="tdm-reservation" content="1">`` (and ``tdm-policy``) in the page."""
    reserved = _reservation_value(page.meta("tdm-reservation"))
    if reserved is None:
        return None
    return TdmSignal(reserved, TdmSource.META, page.meta("tdm-policy") or None)


def _location_pattern(location: str) -> re.Pattern[str]:
    # robots.txt path syntax: '*' is any run of characters, a final '$' anchors the end, otherwise a prefix.
    anchored = location.endswith("$")
    body = unquote(location[:-1] if anchored else location)
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in body) + ("$" if anchored else ""),
                      re.DOTALL)


def parse_tdmrep(data: bytes) -> tuple[TdmRule, ...]:
    """The rules of a ``/.well-known/tdmrep.json`` file, in order. Raises ``TdmRepError`` naming the problem."""
    if len(data) > MAX_TDMREP_BYTES:
        raise TdmRepError(f"tdmrep.json: {len(data)} bytes, more than {MAX_TDMREP_BYTES}")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise TdmRepError(f"tdmrep.json: not JSON: {exc}") from None
    if not isinstance(document, list):
        raise TdmRepError("tdmrep.json: expected a JSON array of rules")
    if len(document) > MAX_TDMREP_RULES:
        raise TdmRepError(f"tdmrep.json: {len(document)} rules, more than {MAX_TDMREP_RULES}")
    rules: list[TdmRule] = []
    for i, item in enumerate(document):
        if not isinstance(item, dict):
            raise TdmRepError(f"tdmrep.json: rule {i}: expected an object")
        location = item.get("location")
        if not isinstance(location, str) or not location.startswith(("/", "*")):
            raise TdmRepError(f"tdmrep.json: rule {i}: field 'location': expected a path pattern such as '/news/*'")
        reserved = _reservation_value(item.get("tdm-reservation"))
        if reserved is None:
            # A protocol error in one rule leaves that rule unset; the others still count.
            continue
        policy = item.get("tdm-policy")
        rules.append(TdmRule(location, reserved, policy.strip() if isinstance(policy, str) and policy.strip() else None,
                             _location_pattern(location)))
    return tuple(rules)


def tdm_from_tdmrep(rules: Iterable[TdmRule], url_or_path: str) -> TdmSignal | None:
    """The first rule whose location matches the article's path (and query), as TDMRep prescribes."""
    parts = urlsplit(url_or_path)
    target = unquote(parts.path or "/") + (f"?{unquote(parts.query)}" if parts.query else "")
    for rule in rules:
        if rule.pattern.match(target):
            return TdmSignal(rule.reserved, TdmSource.TDMREP_JSON, rule.policy, rule.location)
    return None


def tdm_reservation(*, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (), page: Page | None = None,
                    tdmrep_rules: Iterable[TdmRule] = (), url: str | None = None) -> TdmReservation:
    """Whether the publisher reserves text and data mining for this article, and who said so.

    ``tdmrep_rules`` are the parsed rules of the site's ``/.well-known/tdmrep.json``
    (fetch it once per site and night; a missing or unreadable file gives none).
    """
    signals = [
        tdm_from_headers(headers),
        tdm_from_html(page) if page is not None else None,
        tdm_from_tdmrep(tdmrep_rules, url or (page.url if page else "/")),
    ]
    found = tuple(s for s in signals if s is not None)
    return TdmReservation(any(s.reserved for s in found), found)
