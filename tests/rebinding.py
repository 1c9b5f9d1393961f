"""A crawl whose host names are answered by a rebinding resolver: run as a script by tests/test_rebinding.py.

`*.rebind.test` names answer a public address the first time they are
looked up and 127.0.0.1 after that, as a hostile DNS server does to get past
a check made before the connection. `public.rebind.test` stands for a
genuinely public host; it is served from 127.0.0.1 too, which only this
resolver lets through, so that the test can follow its redirects. No other
name is resolved and no connection leaves 127.0.0.1.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.resolver import GuardedResolver

PUBLIC = "93.184.216.34"
SERVED_AS_PUBLIC = "public.rebind.test"


class RebindingResolver(GuardedResolver):
    asked: Counter[str] = Counter()

    def lookup(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if not name.endswith(".rebind.test"):
            return defer.fail(DNSLookupError(f"{name}: only *.rebind.test names resolve in this test"))
        self.asked[name] += 1
        if name != SERVED_AS_PUBLIC and self.asked[name] == 1:
            return defer.succeed(PUBLIC)
        return defer.succeed("127.0.0.1")

    @staticmethod
    def _checked(address: str, name: str) -> str:
        if name == SERVED_AS_PUBLIC:
            return address
        return GuardedResolver._checked(address, name)


def main(db: str, sources: str) -> int:
    from crawler.runner import CrawlPlan, run_crawls
    from crawler.settings import CrawlOptions

    options = CrawlOptions(db=f"sqlite:///{db}", sources=Path(sources), autothrottle=False, retry_times=0,
                           allow_private_addresses=False)
    run_crawls(options, [CrawlPlan()], {"TWISTED_DNS_RESOLVER": "rebinding.RebindingResolver",
                                       "LOG_LEVEL": "WARNING"})
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
