"""From a fetched news page to the article: text, title, author, outlet, dates,
language and correction notices.

The text comes from trafilatura in precision mode (it leaves out navigation,
advertising, comments and consent banners; measured in
``bench/article_extraction.py``). The dates are what the page declares
(schema.org ``datePublished``/``dateModified``, ``article:published_time`` …)
with their time and offset; htmldate reads the page for whatever is not
declared, through trafilatura (it returns only a date where the page gives no
time); a modified date is only ever one the page declares. The
language comes from py3langid on the text.

Why py3langid: it is the identifier trafilatura itself uses for language
filtering, it ships its model inside the wheel (nothing is downloaded at run
time), it is deterministic, takes well under a millisecond on an article, and
it knows 97 languages — so an Italian article in a German feed is reported
as Italian instead of being forced into one of the three languages the
flagger has rules for (``analysis.language`` only chooses among those).

Correction notices are found where newsrooms put them: a paragraph opening
with "Korrektur:", "Update (12 June):", "Rectificatif :" …, a headline
ending in "[Update]", or schema.org's ``correction`` property; the
vocabulary is data (``news/markers.yaml``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import trafilatura
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from ingest.news.markers import CorrectionMarkers, Markers
from ingest.news.page import Page

# trafilatura warns when it discards a page it cannot read: the outcome of the page says so already.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

# Below this many words the text says too little for the identifier to be trusted.
LANGUAGE_MIN_WORDS = 25
LANGUAGE_MIN_PROBABILITY = 0.8
_LANGUAGE_SAMPLE_CHARS = 2_000
_MAX_NOTICE_CHARS = 600


class NoArticleText(ValueError):
    """The page has no article text that extraction can find."""


@dataclass(frozen=True)
class Correction:
    where: str  # "text" (a paragraph), "title" or "schema" (schema.org correction)
    marker: str  # the words that mark it
    notice: str  # the paragraph or statement, at most _MAX_NOTICE_CHARS characters


@dataclass(frozen=True)
class Article:
    url: str  # where the page was fetched from
    title: str | None
    author: str | None
    site_name: str | None
    description: str | None
    published: str | None  # ISO 8601: a date, or a date and time with its offset
    modified: str | None
    language: str | None
    language_from: str  # "text", "html" (the page's lang attribute) or "declared" (the feed's language)
    language_probability: float | None  # py3langid's normalised probability for the text's language
    text: str
    words: int
    corrections: tuple[Correction, ...]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["corrections"] = [asdict(c) for c in self.corrections]
        return data


@functools.cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """(two-letter code, probability) of ``text``; (None, 0.0) when it is too short to tell."""
    if len(text.split()) < LANGUAGE_MIN_WORDS:
        return None, 0.0
    code, probability = _identifier().classify(text[:_LANGUAGE_SAMPLE_CHARS])
    return str(code), round(float(probability), 4)


def _iso(found: str | None) -> str | None:
    """htmldate's ``%Y-%m-%dT%H:%M:%S%z`` output as ISO 8601; a bare date when the page gave no time."""
    if not found:
        return None
    try:
        parsed = datetime.strptime(found, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.strptime(found, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
        if (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0):
            return parsed.date().isoformat()
    return parsed.isoformat()


_HTMLDATE_OPTIONS: dict[str, Any] = {"extensive_search": False, "original_date": True,
                                     "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_PUBLISHED_META = ("article:published_time", "datepublished", "date", "dc.date.issued", "dcterms.created",
                   "publish-date", "pubdate")
_MODIFIED_META = ("article:modified_time", "datemodified", "og:updated_time", "last-modified", "dcterms.modified")
_ARTICLE_TYPES = ("article", "newsarticle", "reportagenews", "analysisnewsarticle", "blogposting", "report",
                  "opinionnewsarticle", "backgroundnewsarticle", "pressrelease")


def _declared(value: object) -> str | None:
    """A date the page declares, as ISO 8601, keeping its time and offset when given."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= 10:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _types(obj: dict[str, Any]) -> set[str]:
    kinds = obj.get("@type")
    return {str(k).lower() for k in (kinds if isinstance(kinds, list) else [kinds]) if k}


def _structured_dates(page: Page) -> tuple[str | None, str | None]:
    """datePublished and dateModified from the article's JSON-LD, else from meta tags."""
    objects = sorted((o for o in page.jsonld if o.get("datePublished") or o.get("dateModified")),
                     key=lambda o: not (_types(o) & set(_ARTICLE_TYPES)))
    published = modified = None
    for obj in objects:
        published = published or _declared(obj.get("datePublished"))
        modified = modified or _declared(obj.get("dateModified"))
    for name in _PUBLISHED_META:
        published = published or _declared(page.meta(name))
    for name in _MODIFIED_META:
        modified = modified or _declared(page.meta(name))
    return published, modified


def _dates(page: Page, read_by_htmldate: str | None) -> tuple[str | None, str | None]:
    """Published and modified dates: what the page declares, else htmldate's reading of the published date.

    A modified date is only ever what the page declares: read from the page
    text, "the latest date on the page" is as often a comment's or a related
    story's as the article's own.
    """
    published, modified = _structured_dates(page)
    published = published or _iso(read_by_htmldate)
    return published, (modified if modified != published else None)


def _without_heading(text: str, title: str | None, description: str | None) -> str:
    """The text without the kicker, headline and standfirst that open it when the page puts them in the article."""
    lines = text.splitlines()
    head = [line.strip() for line in lines[:3]]
    if title and title.strip() in head:
        lines = lines[head.index(title.strip()) + 1:]
        if description and lines and lines[0].strip() == description.strip():
            lines = lines[1:]
    return "\n".join(lines).strip()


def _correction_rules(markers: Markers, language: str | None) -> list[CorrectionMarkers]:
    if language in markers.corrections:
        return [markers.corrections[language]]
    return list(markers.corrections.values())


def find_corrections(text: str, title: str | None, markers: Markers, language: str | None,
                     page: Page | None = None) -> tuple[Correction, ...]:
    """Correction and update notices in an article's text, its title and its schema.org data."""
    found: list[Correction] = []
    rules = _correction_rules(markers, language)
    for line in text.splitlines():
        stripped = line.strip()
        for rule in rules:
            m = rule.lead.match(stripped) if rule.lead is not None else None
            if m:
                found.append(Correction("text", m.group().strip(), stripped[:_MAX_NOTICE_CHARS]))
                break
    if title:
        for rule in rules:
            m = rule.title.search(title) if rule.title is not None else None
            if m:
                found.append(Correction("title", m.group().strip(), title[:_MAX_NOTICE_CHARS]))
                break
    if page is not None:
        for obj in page.jsonld:
            value = obj.get("correction")
            items = value if isinstance(value, list) else [value] if value else []
            for item in items[:10]:
                notice = item.get("text") if isinstance(item, dict) else item
                if isinstance(notice, str) and notice.strip():
                    found.append(Correction("schema", "correction", " ".join(notice.split())[:_MAX_NOTICE_CHARS]))
    return tuple(found)


def extract_article(page: Page, *, markers: Markers, declared_language: str | None = None) -> Article:
    """The article in ``page``; raises ``NoArticleText`` when there is none (an empty shell, a wall)."""
    document = trafilatura.bare_extraction(
        page.markup, url=page.url, favor_precision=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, with_metadata=True, deduplicate=False,
        # trafilatura reads the date with htmldate: ask it for the original date with its time.
        date_extraction_params=_HTMLDATE_OPTIONS,
    )
    text = (getattr(document, "text", None) or "").strip() if document is not None else ""
    title = getattr(document, "title", None) or None
    description = getattr(document, "description", None) or None
    text = _without_heading(text, title, description)
    if not text:
        raise NoArticleText(f"{page.url}: no article text found")
    detected, probability = detect_language(text)
    if detected is not None and probability >= LANGUAGE_MIN_PROBABILITY:
        language, language_from = detected, "text"
    elif page.html_language:
        language, language_from = page.html_language, "html"
    else:
        language, language_from = declared_language, "declared"
    published, modified = _dates(page, getattr(document, "date", None))
    return Article(
        url=page.url,
        title=title,
        author=getattr(document, "author", None) or None,
        site_name=getattr(document, "sitename", None) or None,
        description=description,
        published=published,
        modified=modified,
        language=language,
        language_from=language_from,
        language_probability=probability if detected is not None else None,
        text=text,
        words=len(text.split()),
        corrections=find_corrections(text, title, markers, language, page),
    )
