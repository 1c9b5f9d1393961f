"""One URL per article: canonical URLs, AMP pages, tracking parameters, identity.

An article is known under many URLs: the feed's link (often with
``utm_source=rss``), the URL after redirects, its AMP edition, what the page
declares with ``<link rel="canonical">`` or ``og:url``. Its identity is the
sha256 of one normalised canonical URL; the others are kept as aliases so
that the next feed item pointing at any of them is recognised before it is
fetched.

A canonical URL on another site (a syndicated copy pointing at the wire
service's original) is not taken as the article's identity: who published
the copy matters, so it is reported as ``canonical_elsewhere`` for the
syndication clusters instead.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan
import lxml.html
from lxml import etree

# Query parameters that say how a reader arrived, never which article it is.
TRACKING_PARAMS: tuple[str, ...] = (
    "utm_*", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "wt_mc", "wt_zmc", "wt_ref", "xtor", "xtref", "at_medium", "at_campaign", "at_custom*",
    "ns_campaign", "ns_mchannel", "ns_source", "ns_linkname", "ns_fee", "cmp", "cmpid", "icid", "ito", "s_cid",
    "ref_src", "ref_url", "smid", "sr_share", "ncid", "spm", "trk", "__twitter_impression",
)
_AMP_QUERY = {"amp": {"1", "true", ""}, "outputtype": {"amp"}}
_AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$")
_MAX_HTML_FOR_HEAD = 2_000_000


class UrlError(ValueError):
    """Not an absolute http(s) URL."""


@dataclass(frozen=True)
class PageUrls:
    """What a page says about its own address."""

    rel_canonical: str | None = None
    og_url: str | None = None
    amphtml: str | None = None  # <link rel="amphtml">: the page's AMP edition
    is_amp: bool = False  # <html amp> or <html ⚡>


@dataclass(frozen=True)
class ArticleIdentity:
    canonical: str  # normalised
    article_id: str  # sha256 of ``canonical``
    aliases: tuple[str, ...]  # every other normalised URL the article was met under
    canonical_from: str  # "rel_canonical", "og_url", "amp" or "final_url"
    canonical_elsewhere: str | None = None  # a canonical URL on another site (syndication)
    notes: tuple[str, ...] = ()


def _check(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UrlError(f"{url!r} is not an absolute http(s) URL")
    return url.strip()


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in TRACKING_PARAMS)


def strip_tracking(url: str) -> str:
    """``url`` without tracking parameters (utm_*, fbclid, gclid, …) and without its fragment."""
    parts = urlsplit(_check(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def normalize_url(url: str) -> str:
    """The comparable form of an article URL: tracking parameters and fragment dropped, then courlan's
    normalisation (lower-case scheme and host, default port dropped, query sorted, path escapes tidied)."""
    stripped = strip_tracking(url)
    try:
        normalized = courlan.normalize_url(stripped, strict=False, trailing_slash=True)
    except (ValueError, AttributeError) as exc:
        raise UrlError(f"{url!r} cannot be normalised: {exc}") from None
    parts = urlsplit(normalized)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def article_id(canonical: str) -> str:
    """An article's identity: the sha256 of its normalised canonical URL, in hex."""
    return hashlib.sha256(normalize_url(canonical).encode("utf-8")).hexdigest()


def same_site(a: str, b: str) -> bool:
    """Whether two URLs belong to the same registrable domain (www.heise.de and heise.de do)."""
    da, db = _site(a), _site(b)
    return bool(da) and da == db


def _site(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return None
    if host.replace(".", "").isdigit() or ":" in host:
        return host  # an IP address is its own site
    # courlan knows the public suffix list; reserved names (.example, .test) are not on it.
    return courlan.extract_domain(url) or ".".join(host.split(".")[-2:])


def amp_to_canonical(url: str) -> str | None:
    """The non-AMP URL an AMP URL stands for, by the usual conventions; None when ``url`` is not recognisably AMP.

    Handles the AMP cache (``www-example-com.cdn.ampproject.org/c/s/www.example.com/x``), ``/amp/`` path
    segments (``/amp/x``, ``/x/amp/``), an ``.amp`` suffix (``/x.amp``, ``/x.amp.html``), ``?amp=1`` and
    ``?outputType=amp``. A page's own ``rel=canonical`` is better evidence and wins over this.
    """
    parts = urlsplit(_check(url))
    host = (parts.hostname or "").lower()
    if _AMP_CACHE.match(host):
        m = re.match(r"^/[a-z](?:/(s))?/(.+)$", parts.path)
        if not m:
            return None
        scheme = "https" if m.group(1) else "http"
        origin = urlsplit(f"{scheme}://{m.group(2)}")
        return urlunsplit((origin.scheme, origin.netloc, origin.path or "/", parts.query, ""))
    path, changed = parts.path, False
    segments = path.split("/")
    if "amp" in segments[1:]:
        segments = [s for i, s in enumerate(segments) if not (i > 0 and s == "amp")]
        path, changed = "/".join(segments) or "/", True
    for suffix, replacement in ((".amp.html", ".html"), (".amp", "")):
        if path.endswith(suffix):
            path, changed = path[: -len(suffix)] + replacement, True
            break
    query = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if v.lower() in _AMP_QUERY.get(k.lower(), set()):
            changed = True
            continue
        query.append((k, v))
    if not changed:
        return None
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def candidate_key(url: str) -> str:
    """The normalised URL under which a feed item is looked up before it is fetched (AMP URLs as their canonical)."""
    return normalize_url(amp_to_canonical(url) or url)


def page_urls(html: bytes | str | etree._Element, base_url: str) -> PageUrls:
    """``rel=canonical``, ``og:url`` and ``rel=amphtml`` of a page, made absolute against ``base_url``."""
    if isinstance(html, (bytes, str)):
        if not html:
            return PageUrls()
        try:
            tree = lxml.html.document_fromstring(html[:_MAX_HTML_FOR_HEAD])
        except (etree.ParserError, ValueError):
            return PageUrls()
    else:
        tree = html
    root = tree.getroottree().getroot()

    def absolute(value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        candidate = urljoin(base_url, value.strip())
        try:
            return _check(candidate)
        except UrlError:
            return None

    def link(rel: str) -> str | None:
        for element in root.iter("link"):
            rels = (element.get("rel") or "").lower().split()
            if rel in rels and element.get("href"):
                return absolute(element.get("href"))
        return None

    og = None
    for element in root.iter("meta"):
        if (element.get("property") or element.get("name") or "").lower() == "og:url":
            og = absolute(element.get("content"))
            break
    is_amp = root.tag == "html" and ("amp" in root.attrib or "⚡" in root.attrib)
    return PageUrls(rel_canonical=link("canonical"), og_url=og, amphtml=link("amphtml"), is_amp=is_amp)


def _is_home(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


def resolve_identity(final_url: str, page: PageUrls | None = None, *, also_seen_as: Iterable[str] = ()) -> ArticleIdentity:
    """The canonical URL, identity and aliases of a fetched article.

    ``final_url`` is where the fetch ended after redirects; ``also_seen_as``
    the other URLs it was met under (the feed's link, the requested URL, the
    feed's guid when it is a URL). The canonical URL is the page's
    ``rel=canonical``, else its ``og:url``, else — for an AMP page or URL —
    the non-AMP URL, else ``final_url``; a declared canonical on another site,
    or one pointing at the site's home page from an article, is not used.
    """
    page = page or PageUrls()
    notes: list[str] = []
    elsewhere: str | None = None
    chosen: tuple[str, str] | None = None
    for source, declared in (("rel_canonical", page.rel_canonical), ("og_url", page.og_url)):
        if declared is None:
            continue
        if not same_site(declared, final_url):
            elsewhere = elsewhere or normalize_url(declared)
            notes.append(f"{source} points at another site ({declared}): kept as canonical_elsewhere")
            continue
        if _is_home(declared) and not _is_home(final_url):
            notes.append(f"{source} points at the home page ({declared}): ignored")
            continue
        chosen = (source, declared)
        break
    if chosen is None:
        amp = amp_to_canonical(final_url)
        chosen = ("amp", amp) if amp and (page.is_amp or amp != final_url) else ("final_url", final_url)
    canonical = normalize_url(chosen[1])
    seen = [final_url, *also_seen_as, page.rel_canonical, page.og_url, page.amphtml]
    aliases: list[str] = []
    for url in seen:
        if not url:
            continue
        try:
            normalized = normalize_url(url)
        except UrlError:
            continue
        if normalized != canonical and normalized != elsewhere and normalized not in aliases:
            aliases.append(normalized)
    return ArticleIdentity(
        canonical=canonical,
        article_id=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        aliases=tuple(sorted(aliases)),
        canonical_from=chosen[0],
        canonical_elsewhere=elsewhere,
        notes=tuple(notes),
    )
