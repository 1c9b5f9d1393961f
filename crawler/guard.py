"""The fetch guard: decide, before extraction, whether a response can become a version.

Anything suspicious becomes a failed fetch outcome with a kind from
FAILURE_KINDS and a human-readable detail; only what passes is extracted.
"""

from __future__ import annotations

from typing import Sequence

from crawler.items import FetchFailure
from storage.record import RawPage

FAILURE_KINDS = {
    "http_error": "the server answered with an error status",
    "not_html": "the response is not an HTML page",
    "empty": "the page or its extracted text is empty",
    "selector_miss": "the declared selector matched nothing",
    "decode_error": "the bytes cannot be decoded as text",
    "invalid_selector": "a declared selector cannot be used",
    "timeout": "the server did not answer in time",
    "connection": "the connection failed (DNS, refused, reset)",
    "oversize": "the response is larger than the download limit",
    "robots": "robots.txt forbids fetching the page",
    "not_fetched": "the crawl ended before the source was fetched",
    "unsupported_fetch": "the declared fetch mode is not available",
    "error": "an unexpected error while processing the page",
}

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Already-extracted text is accepted from imported files only (they have no
# HTTP status); a live server answering text/plain is not serving the page.
IMPORTED_TEXT_TYPES = ("text/markdown", "text/plain")


def content_type_charset(content_type: str | None) -> tuple[str, str | None]:
    """Split a Content-Type header into its media type and charset."""
    if not content_type:
        return "", None
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').strip("'")
    return media.strip().lower(), charset


def check_page(page: RawPage) -> FetchFailure | None:
    if page.status is not None and not 200 <= page.status < 300:
        return FetchFailure("http_error", f"HTTP {page.status} from {page.final_url}", page.status, page.final_url)
    media, _ = content_type_charset(page.content_type)
    accepted = HTML_TYPES + IMPORTED_TEXT_TYPES if page.status is None else HTML_TYPES
    if media and media not in accepted:
        return FetchFailure("not_html", f"{page.final_url} is {media}, not HTML", page.status, page.final_url)
    if not page.body.strip():
        return FetchFailure("empty", f"{page.final_url} returned an empty body", page.status, page.final_url)
    return None


def check_pages(pages: Sequence[RawPage]) -> FetchFailure | None:
    for page in pages:
        failure = check_page(page)
        if failure is not None:
            return failure
    return None
