"""Downloader middlewares: polite retries, spaced requests to hosts that ask for it, and no requests to
private addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

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


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, but waiting before each retry: Retry-After when the server
    gives one, else exponential backoff (base × 2^attempt), capped."""

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
        retried = self._retry(request, f"HTTP {response.status}")
        if retried is None:
            return response
        if delay > 0:
            await asyncio.sleep(delay)
        return retried


PRIVATE_ADDRESS_REFUSAL = "refused: private or loopback address"


@lru_cache(maxsize=1024)
def _addresses(host: str) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        return tuple(sorted({info[4][0] for info in socket.getaddrinfo(host, None)}))
    except OSError:
        return ()  # the download itself reports the DNS failure


def private_address(url: str) -> str | None:
    """The first private, loopback, link-local or reserved address `url`'s host resolves to."""
    host = urlsplit(url).hostname or ""
    for address in _addresses(host.strip("[]")):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return address
    return None


class PrivateAddressMiddleware:
    """Refuse requests (redirects included) to addresses inside private networks.

    A page on the public web must not make the crawler reach into the network
    it runs in. `allow_private_addresses` lifts this, for intranet sources,
    tests and the demo.
    """

    def __init__(self, allowed: bool):
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls(crawler.settings.getbool("POLICYWATCH_ALLOW_PRIVATE_ADDRESSES"))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.allowed:
            return None
        address = private_address(request.url)
        if address is not None:
            raise IgnoreRequest(f"{PRIVATE_ADDRESS_REFUSAL} {address} for {request.url} "
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
