"""The fetch guard: decide, before extraction, whether a response can become a version.

Anything suspicious becomes a failed fetch outcome with a kind
(storage.vocabulary.FailureKind) and a human-readable detail; only what
passes is extracted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Mapping, Sequence
from urllib.parse import urlsplit

from ingest.results import FetchFailure
from storage.vocabulary import FailureKind

if TYPE_CHECKING:
    from storage.record import RawPage  # the recording layer's SQLAlchemy is not needed to judge a page

# Text that shrank below this fraction of the current version is refused (`too_short`), unless the page says it moved.
TOO_SHORT_FRACTION = 0.5

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


# Markers specific to interstitials (scripts, element ids, titles), not words a
# policy might use: OpenAI's own privacy policy names Cloudflare as a provider.
CHALLENGE_MARKERS = (
    ("Cloudflare", ("cf_chl_opt", "/cdn-cgi/challenge-platform/", "cf-browser-verification",
                    "<title>just a moment...</title>", "<title>just a moment&hellip;</title>",
                    "<title>attention required! | cloudflare</title>", 'id="cf-error-details"')),
    ("Akamai", ("errors.edgesuite.net", "<title>access denied</title>", "_abck=", "bm-verify")),
    ("DataDome", ("captcha-delivery.com", "geo.captcha-delivery.com", "datadome.co/captcha")),
    ("PerimeterX", ("px-captcha", "_pxcaptcha", "perimeterx.net", "/px/captcha")),
    ("hCaptcha", ("hcaptcha.com/1/api.js", 'class="h-captcha"')),
    ("reCAPTCHA", ("www.google.com/recaptcha/api.js", "www.recaptcha.net/recaptcha", 'class="g-recaptcha"')),
    ("a JavaScript check", ("enable javascript and cookies to continue", "please enable js and disable any ad blocker",
                            "checking your browser before accessing", "verify you are human")),
)
CHALLENGE_HEADERS = (("cf-mitigated", "challenge", "Cloudflare"), ("x-datadome", "", "DataDome"))
# Challenge pages are small; a real policy page carrying a CAPTCHA widget is not.
CHALLENGE_MAX_BYTES = 200_000
BLOCKING_STATUSES = (403, 406, 429, 503)
LOGIN_PATH = re.compile(r"/(log-?in|sign-?in|auth|sso|oauth2?|session/new|account/login)(/|$|\?)", re.I)

_MARKER_BYTES = tuple((vendor, tuple(m.encode("ascii") for m in markers)) for vendor, markers in CHALLENGE_MARKERS)
_CAPTCHA = b"captcha"


def challenge_vendor(body: bytes, status: int | None, headers: Mapping[str, str] | None = None) -> str | None:
    """Who served a bot-protection page instead of the content, or None."""
    return _header_vendor(headers) or _marker_vendor(body, status)


def _header_vendor(headers: Mapping[str, str] | None) -> str | None:
    for name, value, vendor in CHALLENGE_HEADERS:
        found = (headers or {}).get(name)
        if found is not None and value in found.lower():
            return vendor
    return None


def _marker_vendor(body: bytes, status: int | None) -> str | None:
    if len(body) > CHALLENGE_MAX_BYTES and status not in BLOCKING_STATUSES:
        return None
    # The markers are ASCII: the bytes are searched as they are, only ASCII letters lower-cased (decoding the
    # page first cost more than the whole search).
    head = body[:CHALLENGE_MAX_BYTES].lower()
    # Many markers name a CAPTCHA: a page without the word holds none of them, which one search tells.
    captcha = _CAPTCHA in head
    for vendor, markers in _MARKER_BYTES:
        if any(marker in head for marker in markers if captcha or _CAPTCHA not in marker):
            return vendor
    return None


def is_login_redirect(page: RawPage) -> bool:
    if page.final_url == page.url:
        return False
    return bool(LOGIN_PATH.search(urlsplit(page.final_url).path + "?")) and not LOGIN_PATH.search(urlsplit(page.url).path + "?")


def check_page(page: RawPage, headers: Mapping[str, str] | None = None, *, screened: bool = False
               ) -> FetchFailure | None:
    """Why this response must not be extracted, or None. ``screened``: its body, with its status, was searched
    for a challenge's markers already and held none (the crawler's fetch ladder does that before it extracts
    a page): only its headers are checked for one."""
    if page.status == 206:
        return FetchFailure(FailureKind.TRUNCATED, f"HTTP 206 Partial Content from {page.final_url}: only part of the "
                            "page was sent", page.status, page.final_url)
    vendor = _header_vendor(headers) if screened else challenge_vendor(page.body, page.status, headers)
    if vendor is not None:
        status = f"HTTP {page.status} " if page.status else ""
        return FetchFailure(FailureKind.BOT_CHALLENGE, f"{status}{vendor} challenge page at {page.final_url}", page.status,
                            page.final_url)
    if is_login_redirect(page):
        return FetchFailure(FailureKind.LOGIN_WALL, f"{page.url} redirected to a sign-in page: {page.final_url}", page.status,
                            page.final_url)
    if page.status is not None and not 200 <= page.status < 300:
        return FetchFailure(FailureKind.HTTP_ERROR, f"HTTP {page.status} from {page.final_url}", page.status, page.final_url)
    media, _ = content_type_charset(page.content_type)
    accepted = HTML_TYPES + IMPORTED_TEXT_TYPES if page.status is None else HTML_TYPES
    if media and media not in accepted:
        return FetchFailure(FailureKind.NOT_HTML, f"{page.final_url} is {media}, not HTML", page.status, page.final_url)
    if not page.body.strip():
        return FetchFailure(FailureKind.EMPTY, f"{page.final_url} returned an empty body", page.status, page.final_url)
    return None


def check_pages(pages: Sequence[RawPage], screened: Sequence[bool] = ()) -> FetchFailure | None:
    """The first page's reason not to be extracted, or None; ``screened[i]`` as for `check_page`."""
    if not pages:
        return FetchFailure(FailureKind.EMPTY, "nothing was fetched")
    for index, page in enumerate(pages):
        failure = check_page(page, page.headers, screened=index < len(screened) and screened[index])
        if failure is not None:
            return failure
    return None


# The end of an HTML document: a closing </body> or </html>, then at most comments and white space.
_DOCUMENT_END = re.compile(rb"</(?:body|html)\s*>(?:\s|<!--.*?-->)*\Z", re.I | re.S)
# Only the end of a page is looked at: a closing tag earlier in it (inside a script or a comment) says nothing.
_TAIL_BYTES = 4096


def ends_document(body: bytes) -> bool:
    """Whether the page ends with its closing </body> or </html> tag (a saved page cut short does not)."""
    return bool(_DOCUMENT_END.search(body[-_TAIL_BYTES:].rstrip(b"\x00")))


def check_complete(pages: Sequence[RawPage], earlier_ended: Sequence[bool | None]) -> FetchFailure | None:
    """Refuse an imported HTML page that stops inside its document where the same page, earlier, ended properly.

    A live fetch is checked on the wire (crawler.completeness); a saved file
    has no headers to check, only its own end.
    """
    for page, ended in zip(pages, earlier_ended):
        media, _ = content_type_charset(page.content_type)
        if page.status is not None or media not in HTML_TYPES or not ended:
            continue
        if not ends_document(page.body):
            tail = page.body[-40:].decode("utf-8", "replace")
            return FetchFailure(FailureKind.TRUNCATED, f"{page.final_url} ends inside the document ({len(page.body)} "
                                f"bytes, last: {tail!r}) where the source's earlier pages ended with </body> or "
                                "</html>: the file was cut short", url=page.final_url)
    return None


MOVED_NOTICE = re.compile(r"\b(has moved|have moved|been moved|moved to|new location|no longer available here|"
                          r"wurde verschoben|ist umgezogen|a été déplacée?|a déménagé)\b", re.I)


def check_text(text: str, current: str | None, min_fraction: float, url: str | None = None) -> FetchFailure | None:
    """Refuse text that shrank below `min_fraction` of the current version, unless it says the page moved."""
    if current is None or min_fraction <= 0:
        return None
    if len(text) < min_fraction * len(current) and not MOVED_NOTICE.search(text):
        return FetchFailure(FailureKind.TOO_SHORT, f"extracted text is {len(text)} characters, under {min_fraction:.0%} of "
                            f"the current version's {len(current)}, and does not say the page moved", url=url,
                            text=text)
    return None
