"""Name resolution through the private-address guard, installed as Scrapy's `TWISTED_DNS_RESOLVER`.

Every connection the crawler makes to a host name resolves it here, and the
address returned is the address connected to: checking it here checks the
connection itself, redirects included, however the name resolved a moment
before (DNS rebinding). Addresses written literally in URLs never reach a
resolver; `PrivateAddressMiddleware` checks those.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Sequence
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.datatypes import LocalCache
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import DNSLookupError

PRIVATE_ADDRESS_REFUSAL = "refused: private or loopback address"

# Names this process refused to connect to, with the address they resolved to. Twisted reports a refused
# lookup to the download only as "no results", so the download failure is matched here by its host.
REFUSED: LocalCache[str, str] = LocalCache(10000)


def refused_address(host: str) -> str | None:
    """The private address a connection to `host` was refused for, if it was."""
    return REFUSED.get(host.lower())


class PrivateAddressRefused(DNSLookupError):
    """The name resolved to an address inside a private, loopback, link-local or reserved network."""

    def __init__(self, name: str, address: str):
        super().__init__(f"{PRIVATE_ADDRESS_REFUSAL} {address} for {name} (set allow_private_addresses to fetch it)")
        self.address = address

    def __str__(self) -> str:
        return str(self.args[0])


# RFC 6761 §6.4: a name under `.invalid` never resolves, and a resolver answers so without asking anyone.
NEVER_RESOLVES = ".invalid"


def never_resolves(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name == NEVER_RESOLVES[1:] or name.endswith(NEVER_RESOLVES)


def private_literal(host: str) -> str | None:
    """The address if `host` is an IP address outside the public internet, None if it is a public one;
    ValueError if `host` is a name."""
    ip = ipaddress.ip_address(host.split("%")[0])
    return None if ip.is_global else str(ip)


def private_address(url: str) -> str | None:
    """The first address outside the public internet that `url`'s host resolves to, by the system's resolver.

    For what the headless browser fetches, which resolves names itself;
    Scrapy's own connections are checked by `GuardedResolver`.
    """
    host = (urlsplit(url).hostname or "").strip("[]")
    try:
        return private_literal(host)
    except ValueError:
        pass
    if never_resolves(host):
        return None  # the fetch itself reports the failed lookup
    try:
        answers = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return None  # the fetch itself reports the failed lookup
    return next((a for a in sorted(answers) if private_literal(a) is not None), None)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing answers outside the public internet unless they are allowed, and
    names under `.invalid` without a query."""

    def __init__(self, reactor: Any, cache_size: int, timeout: float, allow_private: bool = False):
        super().__init__(reactor, cache_size, timeout)
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> "GuardedResolver":
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("POLICYWATCH_ALLOW_PRIVATE_ADDRESSES")
        return resolver

    def lookup(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """The address `name` resolves to (subclasses may answer otherwise, e.g. in tests)."""
        return super().getHostByName(name, timeout)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        if never_resolves(name):
            return fail(DNSLookupError(f"{name}: names under {NEVER_RESOLVES} do not resolve (RFC 6761)"))
        answer = self.lookup(name, timeout)
        if not self.allow_private:
            answer.addCallback(self._checked, name)
        return answer

    @staticmethod
    def _checked(address: str, name: str) -> str:
        if private_literal(address) is not None:
            REFUSED[name.lower()] = address
            raise PrivateAddressRefused(name, address)
        return address
