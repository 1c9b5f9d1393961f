"""From the bytes of a feed, a news sitemap or a GDELT answer to candidate articles.

Nothing here fetches: the spider fetches (robots.txt, politeness, the fetch
guard) and hands the bytes over. feedparser is only ever given those bytes
as a stream, never a string it could take for a URL or a file name; sitemaps
are parsed with lxml without DTDs, entities or network access.

Every document is bounded: bytes beyond ``max_bytes`` are cut (and said so
in the notes), at most ``max_items`` candidates come out of one document (the
newest ones), and a night as a whole admits at most a fixed number of
candidates (``NightBudget``). Broken XML yields what parses, with a note;
bytes that are not a feed at all raise ``DiscoveryError``.
"""

from __future__ import annotations

import calendar
import io
import json
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Iterable, Sequence
from urllib.parse import urlencode, urljoin, urlsplit

import feedparser
import lxml.html
from lxml import etree

from ingest.news.declarations import NewsKind, NewsSource
from ingest.news.limits import GDELT_API, GDELT_MIN_INTERVAL_SECONDS  # noqa: F401 (also named from here)

GDELT_MAX_RECORDS = 250  # the API's own ceiling
_GDELT_LANGUAGES = {"english": "en", "german": "de", "french": "fr"}
_GZIP_MAGIC = b"\x1f\x8b"


class DiscoveryError(ValueError):
    """The bytes are not a feed, sitemap or GDELT answer that can be read at all."""

    def __init__(self, source_id: str, message: str, url: str | None = None):
        where = f"news source {source_id!r}" + (f" ({url})" if url else "")
        super().__init__(f"{where}: {message}")
        self.source_id = source_id
        self.url = url
        self.message = message


@dataclass(frozen=True)
class DiscoveryLimits:
    max_bytes: int = 10_000_000  # a document is cut here (after decompression)
    max_items: int = 200  # candidates kept from one document, newest first
    max_child_sitemaps: int = 5  # sitemaps followed from one sitemap index, newest first
    max_title_chars: int = 500
    max_summary_chars: int = 2_000


@dataclass(frozen=True)
class Candidate:
    """An article a feed points at, before anything about it is fetched."""

    url: str
    title: str
    summary: str
    guid: str | None
    published: datetime | None
    source_id: str
    updated: datetime | None = None
    language: str | None = None  # when the item says so (news sitemaps, GDELT)


@dataclass(frozen=True)
class Discovery:
    source_id: str
    candidates: tuple[Candidate, ...]
    items_seen: int  # items read from the document, before the limit
    notes: tuple[str, ...] = ()  # what was cut, skipped or recovered
    sitemaps: tuple[str, ...] = ()  # child sitemaps of a sitemap index, to fetch next
    title: str | None = None  # the feed's own title

    @property
    def truncated(self) -> bool:
        return self.items_seen > len(self.candidates)


@dataclass
class NightBudget:
    """At most ``max_candidates`` candidates in one night, across every source, each URL once."""

    max_candidates: int = 2_000
    admitted: int = 0
    notes: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    @property
    def remaining(self) -> int:
        return max(0, self.max_candidates - self.admitted)

    def admit(self, discovery: Discovery) -> tuple[Candidate, ...]:
        fresh = [c for c in discovery.candidates if c.url not in self._seen]
        taken = fresh[:self.remaining]
        if len(taken) < len(fresh):
            self.notes.append(f"{discovery.source_id}: the night's limit of {self.max_candidates} candidates "
                              f"is reached; {len(fresh) - len(taken)} left for the next run")
        self._seen.update(c.url for c in taken)
        self.admitted += len(taken)
        return tuple(taken)


# ----------------------------------------------------------------- helpers

def _plain(html_or_text: str | None, limit: int) -> str:
    """Visible text of a feed field that may hold HTML, whitespace collapsed, at most ``limit`` characters."""
    if not html_or_text:
        return ""
    value = html_or_text[: limit * 20]
    if "<" in value or "&" in value:
        try:
            value = lxml.html.fragment_fromstring(value, create_parent="div").text_content()
        except (etree.ParserError, ValueError):
            pass
    return " ".join(value.split())[:limit]


def _http_url(value: Any, base: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base, value.strip()) if base else value.strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _from_struct(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _from_w3c(value: str | None) -> datetime | None:
    """A W3C datetime ("2025-06-05", "2025-06-05T12:30:00+02:00", "…Z") in UTC; None if unreadable."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _cut(data: bytes, limits: DiscoveryLimits, notes: list[str]) -> bytes:
    if data[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            plain = inflater.decompress(data, limits.max_bytes + 1)
        except zlib.error as exc:
            raise ValueError(f"gzip data that does not decompress: {exc}") from None
        if len(plain) > limits.max_bytes:
            notes.append(f"more than {limits.max_bytes} bytes once decompressed: read the first {limits.max_bytes}")
            return plain[:limits.max_bytes]
        return plain
    if len(data) > limits.max_bytes:
        notes.append(f"{len(data)} bytes: read the first {limits.max_bytes}")
        return data[:limits.max_bytes]
    return data


def _when(c: Candidate) -> datetime | None:
    return c.published or c.updated


def _newest_first(c: Candidate) -> tuple[int, float]:
    when = _when(c)
    return (0, -when.timestamp()) if when else (1, 0.0)


def _newest(candidates: Sequence[Candidate], limit: int, notes: list[str], unit: str = "items") -> tuple[Candidate, ...]:
    """The ``limit`` newest candidates, undated ones after dated ones, each URL once, in document order on ties."""
    unique: dict[str, Candidate] = {}
    for c in candidates:
        unique.setdefault(c.url, c)
    duplicates = len(candidates) - len(unique)
    if duplicates:
        notes.append(f"{duplicates} {unit} repeat an earlier link")
    ordered = sorted(unique.values(), key=_newest_first)
    if len(ordered) > limit:
        notes.append(f"{len(ordered)} {unit}: kept the {limit} newest")
    return tuple(ordered[:limit])


def _since(candidates: Iterable[Candidate], since: datetime | None, notes: list[str]) -> list[Candidate]:
    items = list(candidates)
    if since is None:
        return items
    kept = [c for c in items if (when := _when(c)) is None or when >= since]
    if len(kept) < len(items):
        notes.append(f"{len(items) - len(kept)} items older than {since.isoformat()} skipped")
    return kept


# ----------------------------------------------------------------- RSS and Atom

def parse_feed(data: bytes, source_id: str, *, url: str | None = None, limits: DiscoveryLimits = DiscoveryLimits(),
               since: datetime | None = None) -> Discovery:
    """Candidates from RSS or Atom bytes; ``url`` (where the bytes came from) resolves relative links."""
    notes: list[str] = []
    try:
        body = _cut(data, limits, notes)
    except ValueError as exc:
        raise DiscoveryError(source_id, str(exc), url) from None
    # Declaring the bytes XML keeps feedparser from calling every feed suspect for want of a header.
    headers = {"content-type": "application/xml", **({"content-location": url} if url else {})}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=True)
    entries = parsed.get("entries") or []
    feed_title = _plain(parsed.get("feed", {}).get("title"), limits.max_title_chars) or None
    reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
    reason_text = f"{type(reason).__name__}: {reason}" if reason else "no feed element"
    if not entries and not parsed.get("version"):
        raise DiscoveryError(source_id, f"not an RSS or Atom feed ({reason_text})", url)
    if reason is not None:
        if not isinstance(reason, feedparser.CharacterEncodingOverride):
            notes.append(f"not well-formed XML ({reason_text}): read {len(entries)} items with the lenient parser")
    candidates: list[Candidate] = []
    no_link = 0
    for entry in entries:
        guid = entry.get("id") or None
        link = _http_url(entry.get("link"), url)
        if link is None and guid and entry.get("guidislink", False) is not False:
            link = _http_url(guid, url)
        if link is None:
            no_link += 1
            continue
        summary = entry.get("summary") or ""
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        candidates.append(Candidate(
            url=link,
            title=_plain(entry.get("title"), limits.max_title_chars),
            summary=_plain(summary, limits.max_summary_chars),
            guid=str(guid)[:2_000] if guid else None,
            # dict.get: feedparser's own get() answers one date for the other when either is missing.
            published=_from_struct(dict.get(entry, "published_parsed")),
            updated=_from_struct(dict.get(entry, "updated_parsed")),
            source_id=source_id,
        ))
    if no_link:
        notes.append(f"{no_link} items without an http(s) link skipped")
    kept = _newest(_since(candidates, since, notes), limits.max_items, notes)
    return Discovery(source_id, kept, len(entries), tuple(notes), title=feed_title)


# ----------------------------------------------------------------- sitemaps

def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _sitemap_elements(body: bytes, source_id: str, url: str | None, notes: list[str]
                      ) -> tuple[str, list[etree._Element]]:
    """The root element's name and every complete <url> or <sitemap> element before the document breaks, if it does.

    No DTD is loaded, no entity expanded and nothing fetched; each element is
    detached once read, so memory stays that of one entry.
    """
    root_name = ""
    elements: list[etree._Element] = []
    events = etree.iterparse(io.BytesIO(body), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
    depth = 0
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    root_name = _local(element.tag)
                continue
            depth -= 1
            if depth == 1 and _local(element.tag) in ("url", "sitemap"):
                elements.append(element)
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
    except etree.XMLSyntaxError as exc:
        if not root_name:
            raise DiscoveryError(source_id, f"not XML: {exc}", url) from None
        notes.append(f"not well-formed XML ({exc}): read the {len(elements)} entries before the error")
    return root_name, elements


def parse_sitemap(data: bytes, source_id: str, *, url: str | None = None,
                  limits: DiscoveryLimits = DiscoveryLimits(), since: datetime | None = None) -> Discovery:
    """Candidates from a (news) sitemap, or the child sitemaps of a sitemap index, newest first."""
    notes: list[str] = []
    try:
        body = _cut(data, limits, notes)
    except ValueError as exc:
        raise DiscoveryError(source_id, str(exc), url) from None
    if not body.strip():
        raise DiscoveryError(source_id, "not XML: an empty document", url)
    kind, elements = _sitemap_elements(body, source_id, url, notes)
    if kind == "sitemapindex":
        children: list[tuple[datetime | None, str]] = []
        for node in (e for e in elements if _local(e.tag) == "sitemap"):
            loc = _http_url(node.findtext("{*}loc"), url)
            if loc:
                children.append((_from_w3c(node.findtext("{*}lastmod")), loc))
        if since is not None:
            recent = [(d, u) for d, u in children if d is None or d >= since]
            if len(recent) < len(children):
                notes.append(f"{len(children) - len(recent)} sitemaps last modified before {since.isoformat()} skipped")
            children = recent
        ordered = sorted(children, key=lambda c: -c[0].timestamp() if c[0] else float("inf"))
        if len(ordered) > limits.max_child_sitemaps:
            notes.append(f"{len(ordered)} sitemaps: follow the {limits.max_child_sitemaps} most recently modified")
        return Discovery(source_id, (), 0, tuple(notes),
                         sitemaps=tuple(dict.fromkeys(u for _, u in ordered[:limits.max_child_sitemaps])))
    if kind != "urlset":
        raise DiscoveryError(source_id, f"not a sitemap: the root element is <{kind}>", url)
    candidates: list[Candidate] = []
    seen = 0
    for node in (e for e in elements if _local(e.tag) == "url"):
        seen += 1
        loc = _http_url(node.findtext("{*}loc"), url)
        if loc is None:
            continue
        news = node.find("{*}news")
        title = keywords = language = None
        published = None
        if news is not None:
            title = news.findtext("{*}title")
            keywords = news.findtext("{*}keywords")
            published = _from_w3c(news.findtext("{*}publication_date"))
            language = (news.findtext("{*}publication/{*}language") or "").strip().lower()[:2] or None
        candidates.append(Candidate(
            url=loc,
            title=_plain(title, limits.max_title_chars),
            summary=_plain(keywords, limits.max_summary_chars),
            guid=None,
            published=published,
            updated=_from_w3c(node.findtext("{*}lastmod")),
            source_id=source_id,
            language=language,
        ))
    if seen > len(candidates):
        notes.append(f"{seen - len(candidates)} entries without an http(s) <loc> skipped")
    kept = _newest(_since(candidates, since, notes), limits.max_items, notes, unit="entries")
    return Discovery(source_id, kept, seen, tuple(notes))


# ----------------------------------------------------------------- GDELT

def gdelt_request_url(query: str, *, max_records: int = 75, timespan: str = "24h", api: str = GDELT_API) -> str:
    """The GDELT DOC 2.0 article-list request for ``query`` (newest first, JSON); ``api`` is where the API
    answers (its real address unless a mirror or a test server stands in)."""
    records = max(1, min(int(max_records), GDELT_MAX_RECORDS))
    params = {"query": query, "mode": "ArtList", "format": "json", "maxrecords": str(records),
              "timespan": timespan, "sort": "DateDesc"}
    return f"{api}?{urlencode(params)}"


def parse_gdelt(data: bytes, source_id: str, *, url: str | None = None,
                limits: DiscoveryLimits = DiscoveryLimits(), since: datetime | None = None) -> Discovery:
    """Candidates from a GDELT DOC 2.0 ``mode=ArtList&format=json`` answer."""
    notes: list[str] = []
    if len(data) > limits.max_bytes:
        raise DiscoveryError(source_id, f"a GDELT answer of {len(data)} bytes, more than {limits.max_bytes}", url)
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        return Discovery(source_id, (), 0, ("an empty answer: no articles",))
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # GDELT answers errors (rate limit, bad query) as plain text.
        raise DiscoveryError(source_id, f"GDELT did not answer JSON: {text[:200]!r}", url) from None
    if not isinstance(document, dict):
        raise DiscoveryError(source_id, "GDELT's answer is not a JSON object", url)
    articles = document.get("articles") or []
    if not isinstance(articles, list):
        raise DiscoveryError(source_id, "'articles' in GDELT's answer is not a list", url)
    candidates: list[Candidate] = []
    for item in articles:
        if not isinstance(item, dict):
            continue
        link = _http_url(item.get("url"), None)
        if link is None:
            continue
        seen_at = None
        if isinstance(item.get("seendate"), str):
            try:
                seen_at = datetime.strptime(item["seendate"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                seen_at = None
        language = item.get("language")
        candidates.append(Candidate(
            url=link,
            title=_plain(item.get("title") if isinstance(item.get("title"), str) else "", limits.max_title_chars),
            summary="",
            guid=None,
            published=seen_at,
            source_id=source_id,
            language=_GDELT_LANGUAGES.get(language.lower()) if isinstance(language, str) else None,
        ))
    if len(candidates) < len(articles):
        notes.append(f"{len(articles) - len(candidates)} GDELT entries without an http(s) URL skipped")
    kept = _newest(_since(candidates, since, notes), limits.max_items, notes)
    return Discovery(source_id, kept, len(articles), tuple(notes))


# ----------------------------------------------------------------- by declaration

def request_url(source: NewsSource, *, max_records: int = 75, timespan: str = "24h",
                gdelt_api: str = GDELT_API) -> str:
    """What to fetch for a declaration: its feed or sitemap URL, or its GDELT request."""
    if source.kind is NewsKind.GDELT:
        assert source.query is not None
        return gdelt_request_url(source.query, max_records=max_records, timespan=timespan, api=gdelt_api)
    assert source.url is not None
    return source.url


def discover(source: NewsSource, data: bytes, *, url: str | None = None, limits: DiscoveryLimits | None = None,
             since: datetime | None = None) -> Discovery:
    """Candidates from the bytes fetched for ``source`` (from ``url``: a child sitemap, a redirect target).

    The declaration's ``max_items`` lowers the per-document limit; its language
    is given to candidates that do not carry their own.
    """
    limits = limits or DiscoveryLimits()
    if source.max_items is not None:
        limits = replace(limits, max_items=min(limits.max_items, source.max_items))
    where = url or (source.url if source.kind is not NewsKind.GDELT else None)
    parser = {NewsKind.FEED: parse_feed, NewsKind.SITEMAP: parse_sitemap, NewsKind.GDELT: parse_gdelt}[source.kind]
    found = parser(data, source.id, url=where, limits=limits, since=since)
    candidates = tuple(c if c.language else replace(c, language=source.language) for c in found.candidates)
    return replace(found, candidates=candidates)
