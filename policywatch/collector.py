"""Python's cyclic garbage collector run less often: a policywatch process builds most of what it keeps at start-up.

A young collection walks every container object made since the last one,
every tenth walks the middle generation too, and full collections walk
everything. By default a young collection comes every 700 new objects (net
of those freed). While a command imports SQLAlchemy, Scrapy and Twisted and
compiles its rules and claims, it makes several hundred thousand objects
that live to its end: the collector walks them again and again, full
collections included, and frees next to nothing. With a young collection
every 50,000 new objects (`YOUNG_THRESHOLD`) a first night's start-up runs no
full collection instead of two, and 18 young ones instead of 304;
`bench/startup_speed.py` prints the collector's time and collections while
that start-up is built, with either threshold. A crawl
then freezes what start-up built (`crawler.runner`), so its collections no
longer walk it.

What this keeps longer is bounded: an object freed by its reference count
(most are) goes at once as before; only garbage held in reference cycles
waits, for at most 50,000 new objects instead of 700, before it is found.
Set by every `policywatch` command's process and by Scrapy's commands,
unless the collector was turned off (a threshold of 0) or already collects
less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000


def collect_less_often() -> bool:
    """Raise the collector's young-generation threshold to `YOUNG_THRESHOLD`, leaving the older generations'
    as they are; whether it was raised."""
    young, middle, old = gc.get_threshold()
    if young == 0 or young >= YOUNG_THRESHOLD:
        return False
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return True
