"""A polite, bounded HTTP client for an archive: one request at a time, spaced, honouring 429 back-offs.

- requests start at least `interval` seconds after the previous one ended;
- a 429 (or 503) answer stops the client for the server's `Retry-After` (or
  a doubling back-off when it names none), then the same request is made again;
  a wait longer than `max_wait`, or `max_throttled` such answers in a row,
  stops the back-fill with `Throttled` — what was done is kept, and running the
  command again resumes;
- redirects are followed only within the archive's own host, at most 10;
- bodies over `max_bytes` and answers slower than `timeout` are errors.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 10
READ_CHUNK = 65536


class ArchiveError(Exception):
    """A request that did not give a usable answer; the message says which URL and why."""


class Throttled(ArchiveError):
    """The archive asked to wait longer than we will, or kept refusing: stop, and resume on a later run."""


@dataclass(frozen=True)
class Answer:
    url: str  # the URL answered
    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None
    location: str | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


class PoliteClient:
    def __init__(self, user_agent: str, *, interval: float = 1.0, timeout: float = 30.0,
                 max_bytes: int = 20 * 1024 * 1024, max_wait: float = 900.0, max_throttled: int = 5,
                 first_backoff: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, say: Callable[[str], None] | None = None):
        self.user_agent = user_agent
        self.interval = interval
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_wait = max_wait
        self.max_throttled = max_throttled
        self.first_backoff = first_backoff
        self.sleep = sleep
        self.clock = clock
        self.say = say
        self.requests = 0
        self._last_end: float | None = None
        self._opener = urllib.request.build_opener(_NoRedirects())

    def _space(self) -> None:
        if self._last_end is not None:
            wait = self._last_end + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)

    def _read(self, response: Any, url: str) -> bytes:
        chunks, size = [], 0
        while True:
            chunk = response.read(READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise ArchiveError(f"{url}: larger than {self.max_bytes} bytes")
            chunks.append(chunk)

    def _once(self, url: str) -> Answer:
        self._space()
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"})
        self.requests += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Answer(url, response.status, response.headers.get("Content-Type", ""),
                              self._read(response, url))
        except urllib.error.HTTPError as exc:
            headers = exc.headers
            exc.close()
            return Answer(url, exc.code, headers.get("Content-Type", ""), b"", headers.get("Retry-After"),
                          headers.get("Location"))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ArchiveError(f"{url}: {getattr(exc, 'reason', exc)}") from None
        finally:
            self._last_end = self.clock()

    def _wait_out(self, answer: Answer, throttled: int, backoff: float) -> None:
        """Wait as long as a throttling answer asks, or stop the back-fill."""
        asked = retry_after(answer.retry_after, datetime.now(timezone.utc))
        wait = asked if asked is not None else backoff
        if throttled > self.max_throttled:
            raise Throttled(f"{answer.url}: HTTP {answer.status} {throttled} times in a row; stopped — run the "
                            f"same command later to resume")
        if wait > self.max_wait:
            raise Throttled(f"{answer.url}: HTTP {answer.status}, asked to wait {wait:.0f} s (more than "
                            f"{self.max_wait:.0f}); stopped — run the same command later to resume")
        if self.say is not None:
            self.say(f"HTTP {answer.status} from {urlsplit(answer.url).netloc}: waiting {wait:g} s as asked, "
                     f"then resuming")
        self.sleep(wait)

    def get(self, url: str) -> Answer:
        """The answer to GET `url`, after redirects within its host and the waits the server asked for."""
        host = urlsplit(url).netloc
        throttled, backoff, redirects = 0, self.first_backoff, 0
        current = url
        while True:
            answer = self._once(current)
            if answer.status in (429, 503):
                throttled += 1
                self._wait_out(answer, throttled, backoff)
                backoff *= 2
                continue
            throttled, backoff = 0, self.first_backoff
            if 300 <= answer.status < 400 and answer.location:
                redirects += 1
                target = urljoin(current, answer.location)
                if redirects > MAX_REDIRECTS:
                    raise ArchiveError(f"{url}: more than {MAX_REDIRECTS} redirects")
                if urlsplit(target).netloc != host:
                    raise ArchiveError(f"{url}: redirected away from the archive, to {target}")
                current = target
                continue
            return answer
