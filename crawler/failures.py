"""Map download errors (Twisted failures) to fetch-outcome kinds."""

from __future__ import annotations

from twisted.internet import error as net
from twisted.python.failure import Failure
from scrapy.exceptions import IgnoreRequest

from typing import Any, Mapping
from urllib.parse import urlsplit

from crawler.completeness import OVERSIZE_AT
from crawler.middlewares import FORBIDDEN_REDIRECT
from crawler.resolver import PRIVATE_ADDRESS_REFUSAL, refused_address
from ingest.results import FetchFailure
from storage.vocabulary import FailureKind

_TIMEOUTS = (net.TimeoutError, net.TCPTimedOutError)
_CONNECTION = (net.ConnectionRefusedError, net.DNSLookupError, net.ConnectError, net.ConnectionLost,
               net.ConnectionDone)
# twisted.web's client errors are matched by name: importing twisted.web's
# client at module level would install the default reactor before Scrapy
# installs the asyncio one.
_CONNECTION_NAMES = {"ResponseFailed", "ResponseNeverReceived", "PotentialDataLoss"}
_DATA_LOSS_NAMES = {"ResponseDataLossError", "_DataLoss"}


def _describe(failure: Failure) -> str:
    value = failure.value
    text = str(value).strip() or type(value).__name__
    return f"{type(value).__name__}: {text}" if type(value).__name__ not in text else text


def _causes(value: BaseException) -> list[BaseException]:
    """The error and what it wraps (Scrapy's and Twisted's wrappers), outermost first, bounded."""
    found: list[BaseException] = []
    pending = [value]
    while pending and len(found) < 20:
        cause = pending.pop(0)
        found.append(cause)
        pending += [r.value for r in getattr(cause, "reasons", None) or [] if hasattr(r, "value")]
        if cause.__cause__ is not None:
            pending.append(cause.__cause__)
    return found


def classify_download_failure(failure: Failure, url: str, meta: Mapping[str, Any] | None = None) -> FetchFailure:
    value = failure.value
    text = _describe(failure)
    causes = _causes(value)
    every = " ".join(str(c) for c in causes)
    received = (meta or {}).get(OVERSIZE_AT)
    if received:
        # Scrapy cancels a download that passes DOWNLOAD_MAXSIZE; an endless stream ends that way.
        return FetchFailure(FailureKind.OVERSIZE, f"{url}: more than the download limit was sent ({received} bytes "
                            "received when it was stopped)", url=url)
    if PRIVATE_ADDRESS_REFUSAL in every:
        refusal = next(str(c) for c in causes if PRIVATE_ADDRESS_REFUSAL in str(c))
        return FetchFailure(FailureKind.PRIVATE_ADDRESS, f"{url}: {refusal}", url=url)
    host = urlsplit(url).hostname or ""
    address = refused_address(host) if "dns" in every.lower() or "resolve" in every.lower() else None
    if address is not None:
        return FetchFailure(FailureKind.PRIVATE_ADDRESS, f"{url}: {PRIVATE_ADDRESS_REFUSAL} {address} for {host}, "
                            "the address the connection would have gone to (set allow_private_addresses to fetch "
                            "it)", url=url)
    if FORBIDDEN_REDIRECT in every:
        refusal = next(str(c) for c in causes if FORBIDDEN_REDIRECT in str(c))
        return FetchFailure(FailureKind.FORBIDDEN_URL, refusal, url=url)
    if isinstance(value, _TIMEOUTS) or "timeout" in type(value).__name__.lower():
        return FetchFailure(FailureKind.TIMEOUT, f"{url}: no answer in time ({text})", url=url)
    lowered = text.lower()
    if "max size" in lowered or "maxsize" in lowered:
        return FetchFailure(FailureKind.OVERSIZE, f"{url}: {text}", url=url)
    if any(type(c).__name__ in _DATA_LOSS_NAMES for c in causes):
        return FetchFailure(FailureKind.TRUNCATED, f"{url}: cut short: the connection closed before the whole "
                            f"body arrived ({text})", url=url)
    if isinstance(value, IgnoreRequest):
        if "robots.txt" in lowered:
            return FetchFailure(FailureKind.ROBOTS, f"{url}: forbidden by robots.txt", url=url)
        if "max redirections" in lowered:
            return FetchFailure(FailureKind.REDIRECT_LOOP, f"{url}: redirects in a loop or too many times", url=url)
        return FetchFailure(FailureKind.CONNECTION, f"{url}: request dropped ({text})", url=url)
    if isinstance(value, _CONNECTION) or type(value).__name__ in _CONNECTION_NAMES:
        return FetchFailure(FailureKind.CONNECTION, f"{url}: {text}", url=url)
    return FetchFailure(FailureKind.CONNECTION, f"{url}: {text}", url=url)
