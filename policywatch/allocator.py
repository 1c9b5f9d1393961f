"""glibc's allocator told to keep freed memory for reuse: a policywatch process handles one large page after another.

glibc's malloc hands every block over its mmap threshold to the kernel and
takes it back on the next request, and gives the free top of a heap back to
the kernel once it passes the trim threshold. By default both thresholds
follow the largest block freed so far (128 KB at first, the trim threshold
twice the other), which leaves them close to the blocks a night allocates
and frees for every page (the response, its parsed tree, the keyframe a
fetch is stored against: 0.5 to 1 MB each), in the crawl's thread and in
the recording thread's own heap. The memory goes back to the kernel and is
faulted in again, page after page. `bench/crawl_speed.py` prints the page
faults and the kernel's CPU time: its bare Scrapy floor took 214,000 faults
and 1.05 CPU-s in the kernel by default, 25,000 and 0.54 with these
thresholds; a 1,000-page unchanged night took 153,000 and 1.86 before
policywatch set them, 27,000 and 0.75 since.

What a process keeps this way is bounded: a free top of a heap over
`TRIM_THRESHOLD` is still given back, and blocks over `MMAP_THRESHOLD` (a
page near the 20 MB limit) still come from the kernel.

Only where glibc is the C library, and never over thresholds the user has
set (glibc's `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_`, or the
`glibc.malloc.mmap_threshold` and `glibc.malloc.trim_threshold` tunables in
`GLIBC_TUNABLES`). Set by every `policywatch` command's process and by
Scrapy's commands; not by worker processes a command starts.
"""

from __future__ import annotations

import os

MMAP_THRESHOLD = 8 << 20
TRIM_THRESHOLD = 64 << 20
# malloc.h's parameter numbers for mallopt.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The same thresholds as glibc reads them from the environment at start-up, for a process that is not
# policywatch's (`bench/crawl_speed.py`'s floor); set there by the user, they stand.
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
USER_SETTINGS = tuple(ENVIRONMENT)
# The same two as glibc tunables (GLIBC_TUNABLES=glibc.malloc.trim_threshold=…:…).
USER_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # a C library other than glibc has no such name
        return False


def _set_by_user() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(name in os.environ for name in USER_SETTINGS) or any(name in tunables for name in USER_TUNABLES)


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to `MMAP_THRESHOLD` and `TRIM_THRESHOLD` for this process; whether
    they were set (False without glibc, or where the user set them)."""
    if not _glibc() or _set_by_user():
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt says 1 when it took the value.
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
