"""Downloader middlewares: polite retries, spaced requests to hosts that ask for it, no requests to private
addresses, no redirects out of http(s), meta refreshes looked for without decoding every page."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import ConnectionRefusedError, DNSLookupError

from crawler.resolver import PRIVATE_ADDRESS_REFUSAL, PrivateAddressRefused, private_literal

MAX_BACKOFF_SECONDS = 120.0


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


# A host that refuses connections or has no address will not have one a moment later: retried once, at most.
UNREACHABLE_RETRIES = 1
UNREACHABLE = (DownloadConnectionRefusedError, CannotResolveHostError, ConnectionRefusedError, DNSLookupError)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, but waiting before each retry: Retry-After when the server
    gives one, else exponential backoff (base × 2^attempt), capped. A refused
    connection or a failed name lookup is retried at most once."""

    def __init__(self, settings):  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.backoff_base = settings.getfloat("POLICYWATCH_BACKOFF_BASE", 2.0)

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None):  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0)
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is None:
            delay = self.backoff_base * (2 ** attempt)
        delay = min(delay, MAX_BACKOFF_SECONDS)
        deadline = request.meta.get(DEADLINE)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return response  # no time is left to wait for: the answer stands as the fetch's outcome
        retried = self._retry(request, f"HTTP {response.status}")
        if retried is None:
            return response
        if delay > 0:
            await asyncio.sleep(delay)
        return retried

    def process_exception(self, request: Request, exception: Exception,  # type: ignore[override]
                          spider: Spider | None = None) -> Request | Response | None:
        if isinstance(exception, UNREACHABLE) and "max_retry_times" not in request.meta:
            request.meta["max_retry_times"] = min(UNREACHABLE_RETRIES, self.max_retry_times)
        return super().process_exception(request, exception)


DEADLINE = "policywatch_deadline"  # the time.monotonic() at which the crawl's time runs out


class DeadlineMiddleware:
    """No download outlives the crawl's time limit (`CLOSESPIDER_TIMEOUT`, from `night_time_limit`): each one's
    timeout is cut to the time left.

    Scrapy closes the spider when the time is up but waits for the downloads
    in flight, each up to `DOWNLOAD_TIMEOUT`; cut here, a slow or hostile
    host cannot hold the night past its end. It sits before Scrapy's
    timeout middleware (350), which keeps a timeout already set, and sees
    every retry and redirect again.
    """

    def __init__(self, seconds: float, download_timeout: float):
        self.seconds = seconds
        self.download_timeout = download_timeout
        self.deadline: float | None = None

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        from scrapy import signals

        middleware = cls(crawler.settings.getfloat("CLOSESPIDER_TIMEOUT"), crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Spider | None = None) -> None:
        if self.seconds > 0:
            self.deadline = time.monotonic() + self.seconds

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.deadline is None:
            return None
        request.meta[DEADLINE] = self.deadline
        left = max(0.1, self.deadline - time.monotonic())
        request.meta["download_timeout"] = min(float(request.meta.get("download_timeout", self.download_timeout)), left)
        return None


FORBIDDEN_REDIRECT = "refused: a redirect out of http(s)"


class RedirectSchemeMiddleware:
    """Refuse a redirect to anything but http(s): `file:`, `data:`, `ftp:`, `javascript:` …

    Scrapy does not follow such a redirect but hands the 3xx back, which
    would be recorded as a dropped request; it is a forbidden URL.
    """

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if not 300 <= response.status < 400 or b"Location" not in response.headers:
            return response
        location = response.headers[b"Location"].decode("latin-1").strip()
        target = urljoin(request.url, location)
        scheme = urlsplit(target).scheme.lower()
        if scheme in ("http", "https"):
            return response
        raise IgnoreRequest(f"{FORBIDDEN_REDIRECT}: {request.url} redirected to {scheme or 'no'}: URL "
                            f"{target[:200]!r}; policywatch fetches http(s) URLs only")


# Scrapy looks for a refresh in a page's first 4,096 characters; no character takes more than 8 bytes in an
# encoding that writes ASCII letters as ASCII bytes (UTF-8 4, GB 18030 4, UTF-7 fewer than 8), which every
# encoding a browser reads does except UTF-16 and UTF-32, whose NUL bytes send a page Scrapy's way.
_REFRESH_HEAD_BYTES = 4096 * 8


class TextlessMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, the page's text read only when its opening bytes mention a refresh.

    Scrapy decodes the whole page to look at its beginning (0.4 ms of CPU for a 500 KB page, most of which
    never mention one; `bench/meta_refresh_speed.py`). Without "refresh" in the opening bytes no
    `<meta http-equiv="refresh">` can be there; a page in UTF-16 or UTF-32 (whose ASCII letters come with NUL
    bytes) is read Scrapy's way.
    """

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        head = response.body[:_REFRESH_HEAD_BYTES]
        if b"\0" not in head and b"refresh" not in head.lower():
            return response
        return super().process_response(request, response)


class PrivateAddressMiddleware:
    """Refuse requests (redirects included) to addresses inside private networks.

    A page on the public web must not make the crawler reach into the network
    it runs in. Host names are looked up through the reactor's resolver,
    which is `crawler.resolver.GuardedResolver`: the same guard applies again
    to the address a connection is actually made to, so a name that resolves
    to a public address here and to a private one a moment later (DNS
    rebinding) is still refused. `allow_private_addresses` lifts both, for
    intranet sources, tests and the demo.
    """

    def __init__(self, allowed: bool):
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(crawler.settings.getbool("POLICYWATCH_ALLOW_PRIVATE_ADDRESSES"))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.allowed:
            return None
        host = (urlsplit(request.url).hostname or "").strip("[]")
        try:
            refused = private_literal(host)
        except ValueError:
            refused = None
            from twisted.internet import reactor

            try:
                await maybe_deferred_to_future(reactor.resolver.getHostByName(host))  # type: ignore[attr-defined]
            except PrivateAddressRefused as exc:
                refused = exc.address
            except Exception:
                return None  # the download itself reports the failed lookup
        if refused is not None:
            raise IgnoreRequest(f"{PRIVATE_ADDRESS_REFUSAL} {refused} for {request.url} "
                                "(set allow_private_addresses to fetch it)")
        return None


SPACED = "policywatch_spaced_host"


@dataclass
class _Spacing:
    interval: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_free: float = 0.0


class SpacedHostsMiddleware:
    """One request at a time to each host named in `POLICYWATCH_SPACED_HOSTS` (host[:port] → seconds), the
    next starting no sooner than that many seconds after the previous one ended — its robots.txt, retries and
    redirects included. GDELT asks for one request every five seconds.

    It sits after robots.txt (100) and before redirects (600) and retries
    (550) on the way back, so every request to the host passes it and every
    answer frees the host before a follow-up request is made.
    """

    def __init__(self, spacing: dict[str, float]):
        self.hosts = {host: _Spacing(float(seconds)) for host, seconds in spacing.items() if float(seconds) > 0}

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(crawler.settings.getdict("POLICYWATCH_SPACED_HOSTS"))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlparse_cached(request).netloc
        spacing = self.hosts.get(host)
        if spacing is None:
            return None
        # A redirect or a retry of a request that already holds the host comes back here with a copy of its
        # meta: it gives the host up first, then waits its turn like any other.
        self._release(request)
        await spacing.lock.acquire()
        wait = spacing.next_free - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        request.meta[SPACED] = host
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException, spider: Spider | None = None) -> None:
        self._release(request)
        return None

    def _release(self, request: Request) -> None:
        host = request.meta.pop(SPACED, None)
        spacing = self.hosts.get(host) if host else None
        if spacing is not None and spacing.lock.locked():
            spacing.next_free = time.monotonic() + spacing.interval
            spacing.lock.release()
