"""The nightly crawl against its floor in instructions executed, which the machine's load does not move.

    python bench/crawl_instructions.py [--sizes 20 100] [--sources 1000]

`bench/crawl_speed.py` measures CPU-seconds, which on a shared machine move by up to half between two runs of
the same program. This bench runs the same three programs on the same locally served pages (the floor: a bare
Scrapy spider parsing every page with lxml; policywatch's first night; its unchanged night) under valgrind's
callgrind, which counts the instructions each process executes: the same count for the same program and input,
whatever else the machine is doing. Each program is counted whole at two numbers of sources; the difference
gives the instructions each source costs, the rest the fixed cost of starting, and the two give the count and
the ratio to the floor at --sources (by default the 1,000 of `crawl_speed.py`'s goals), printed beside the
ratios at the sizes counted.

Instructions are not seconds: a program waiting on memory runs fewer of them a second, and the kernel's work
(page faults, writes) is not counted. The ratio here is a steady measure of how much work policywatch does
beyond the floor, to compare two versions of the code and to read `crawl_speed.py`'s scattered figures
against; the goals are stated in CPU-seconds. Under callgrind a program runs about fifty times slower: the
default sizes take about ten minutes on this project's 2-core machine.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from crawl_speed import FLOOR_SPIDER, REPO, Night, crawl_env, load_pages, outcome_counts, policywatch, write_declarations

from policywatch.localserver import LocalServer
from policywatch.reference_data import shared_dir

PROGRAMS = ("floor (Scrapy + lxml)", "policywatch, first night", "policywatch, unchanged night")
# OpenSSL's SHA-256, in all it is called from: valgrind's processor has no SHA instructions, so OpenSSL hashes
# without them there, at 25-28 instructions a byte, where this machine's processor hashes a page in 0.3 ms. The
# floor hashes nothing; policywatch hashes each page once (its blob's address) and little else.
SHA256 = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+\S*:SHA256_Update ", re.M)


class Counted(NamedTuple):
    total: int  # instructions the process executed
    sha256: int  # of them, in OpenSSL's SHA-256


def instructions(command: list[str], env: dict[str, str], work: Path, *, hashes: bool) -> Counted:
    """Instructions the process executed, counted by callgrind, to its end; `hashes`: the process must have
    called OpenSSL's SHA-256 (its share is not to be read as none when the report names no such function)."""
    out = work / "callgrind.out"
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command], env=env, cwd=REPO,
                          capture_output=True, text=True)
    counted = re.findall(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not counted:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode} under callgrind:\n{done.stderr[-3000:]}")
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                               capture_output=True, text=True, check=True).stdout
    out.unlink()
    sha256 = SHA256.search(annotated)
    if hashes and sha256 is None:
        raise SystemExit(f"{' '.join(command)}: callgrind's report names no SHA256_Update (another OpenSSL, or "
                         "hashlib without it): its share of the instructions cannot be told apart")
    return Counted(int(counted[-1]), int(sha256.group(1).replace(",", "")) if sha256 else 0)


def count(size: int, pages: list) -> dict[str, Counted]:  # type: ignore[type-arg]
    """The three programs' instructions with `size` sources."""
    night = Night(pages, size)
    with LocalServer({f"/policy/{i}": night.route(i) for i in range(size)}) as server, \
            tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # The same hashes in every run: a dict's or set's order, and so the work done, follows them.
        env = {**crawl_env(work), "PYTHONHASHSEED": "0"}
        urls = work / "urls.txt"
        urls.write_text("\n".join(f"{server.base_url}/policy/{i}" for i in range(size)), encoding="utf-8")
        floor = work / "floor.py"
        floor.write_text(FLOOR_SPIDER, encoding="utf-8")
        declarations = work / "sources.yaml"
        write_declarations(declarations, server.base_url, night)
        db = work / "bench.db"
        counts = {PROGRAMS[0]: instructions([sys.executable, str(floor), str(urls)], env, work, hashes=False)}
        # Each night must record every source as the bench means it to (a download timed out under callgrind's
        # slowness would be a failure, and cheaper).
        for name, served, now in ((PROGRAMS[1], "first", "2026-03-01T02:00:00Z"),
                                  (PROGRAMS[2], "unchanged", "2026-03-02T02:00:00Z")):
            night.name = served
            counts[name] = instructions(policywatch(db, declarations, now), env, work, hashes=True)
            if outcome_counts(db) != {served: size}:  # the outcome each night's pages are served for
                raise SystemExit(f"{name} recorded {outcome_counts(db)}, not {size} {served} sources")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(20, 100), metavar=("SMALL", "LARGE"),
                        help="the two numbers of sources counted")
    parser.add_argument("--sources", type=int, default=1000, help="the number of sources the counts are carried to")
    args = parser.parse_args()
    small, large = sorted(args.sizes)
    if small < 1 or large == small:
        parser.error("--sizes: two different numbers of sources, each at least 1")
    shared = shared_dir()
    if shared is None:
        print("skipped: ../shared/ota-data not found")
        return 0
    pages = load_pages(shared / "ota-data" / "snapshots")
    print(f"instructions (callgrind, whole processes) with {small} and {large} sources served locally from "
          f"{len(pages)} real OpenAI snapshots, carried to {args.sources}")
    counted = {size: count(size, pages) for size in (small, large)}
    for title, part in (("all instructions", lambda c: c.total),
                        ("without OpenSSL's SHA-256", lambda c: c.total - c.sha256)):
        print(f"\n{title:<30} {'fixed, G':>9} {'per source, M':>14} {f'at {args.sources}, G':>11}   "
              f"× floor at {small}, {large}, {args.sources}")
        carried = {}
        for name in PROGRAMS:
            at_small, at_large = part(counted[small][name]), part(counted[large][name])
            # A straight line through the two counts: what starting costs, and what each source adds.
            per_source = (at_large - at_small) / (large - small)
            fixed = at_small - small * per_source
            at = carried[name] = fixed + args.sources * per_source
            ratios = [part(counted[size][name]) / part(counted[size][PROGRAMS[0]]) for size in (small, large)]
            ratios.append(at / carried[PROGRAMS[0]])
            print(f"{name:<30} {fixed / 1e9:>9.2f} {per_source / 1e6:>14.1f} {at / 1e9:>11.1f}   "
                  f"{' / '.join(f'{r:.2f}×' for r in ratios)}")
    sha = {name: (counted[large][name].sha256 - counted[small][name].sha256) / (large - small) for name in PROGRAMS}
    print(f"\nOpenSSL's SHA-256 per source, M: {', '.join(f'{n} {v / 1e6:.1f}' for n, v in sha.items())}")
    print(f"goals (in CPU-seconds, bench/crawl_speed.py): first night ≤ 2× the floor, unchanged night ≤ 1.5×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
