"""Map download errors (Twisted failures) to fetch-outcome kinds."""

from __future__ import annotations

from twisted.internet import error as net
from twisted.python.failure import Failure
from scrapy.exceptions import IgnoreRequest

from ingest.results import FetchFailure
from crawler.middlewares import PRIVATE_ADDRESS_REFUSAL
from storage.vocabulary import FailureKind

_TIMEOUTS = (net.TimeoutError, net.TCPTimedOutError)
_CONNECTION = (net.ConnectionRefusedError, net.DNSLookupError, net.ConnectError, net.ConnectionLost,
               net.ConnectionDone)
# twisted.web's client errors are matched by name: importing twisted.web's
# client at module level would install the default reactor before Scrapy
# installs the asyncio one.
_CONNECTION_NAMES = {"ResponseFailed", "ResponseNeverReceived", "PotentialDataLoss"}


def _describe(failure: Failure) -> str:
    value = failure.value
    text = str(value).strip() or type(value).__name__
    return f"{type(value).__name__}: {text}" if type(value).__name__ not in text else text


def classify_download_failure(failure: Failure, url: str) -> FetchFailure:
    value = failure.value
    text = _describe(failure)
    if isinstance(value, _TIMEOUTS) or "timeout" in type(value).__name__.lower():
        return FetchFailure(FailureKind.TIMEOUT, f"{url}: no answer in time ({text})", url=url)
    lowered = text.lower()
    if "max size" in lowered or "maxsize" in lowered:
        return FetchFailure(FailureKind.OVERSIZE, f"{url}: {text}", url=url)
    if isinstance(value, IgnoreRequest):
        if "robots.txt" in lowered:
            return FetchFailure(FailureKind.ROBOTS, f"{url}: forbidden by robots.txt", url=url)
        if "max redirections" in lowered:
            return FetchFailure(FailureKind.REDIRECT_LOOP, f"{url}: redirects in a loop or too many times", url=url)
        if PRIVATE_ADDRESS_REFUSAL in text:
            return FetchFailure(FailureKind.PRIVATE_ADDRESS, f"{url}: {text}", url=url)
        return FetchFailure(FailureKind.CONNECTION, f"{url}: request dropped ({text})", url=url)
    if isinstance(value, _CONNECTION) or type(value).__name__ in _CONNECTION_NAMES:
        return FetchFailure(FailureKind.CONNECTION, f"{url}: {text}", url=url)
    return FetchFailure(FailureKind.CONNECTION, f"{url}: {text}", url=url)
