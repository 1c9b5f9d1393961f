"""Map download errors (Twisted failures) to fetch-outcome kinds."""

from __future__ import annotations

from twisted.internet import error as net
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.items import FetchFailure

try:
    from scrapy.exceptions import IgnoreRequest
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware  # noqa: F401
except ImportError:  # pragma: no cover
    IgnoreRequest = Exception  # type: ignore[misc,assignment]

_TIMEOUTS = (net.TimeoutError, net.TCPTimedOutError)
_CONNECTION = (net.ConnectionRefusedError, net.DNSLookupError, net.ConnectError, net.ConnectionLost,
               net.ConnectionDone, ResponseFailed, ResponseNeverReceived)


def _describe(failure: Failure) -> str:
    value = failure.value
    text = str(value).strip() or type(value).__name__
    return f"{type(value).__name__}: {text}" if type(value).__name__ not in text else text


def classify_download_failure(failure: Failure, url: str) -> FetchFailure:
    value = failure.value
    text = _describe(failure)
    if isinstance(value, _TIMEOUTS) or "timeout" in type(value).__name__.lower():
        return FetchFailure("timeout", f"{url}: no answer in time ({text})", url=url)
    if isinstance(value, IgnoreRequest):
        if "robots.txt" in text.lower() or "Forbidden by robots" in text:
            return FetchFailure("robots", f"{url}: forbidden by robots.txt", url=url)
        return FetchFailure("connection", f"{url}: request dropped ({text})", url=url)
    if "download max size" in text or "maxsize" in text.lower():
        return FetchFailure("oversize", f"{url}: {text}", url=url)
    if isinstance(value, _CONNECTION):
        return FetchFailure("connection", f"{url}: {text}", url=url)
    return FetchFailure("connection", f"{url}: {text}", url=url)
