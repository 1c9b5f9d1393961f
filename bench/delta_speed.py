"""A raw page's delta against its keyframe: the keyframe handed to zstd as a dictionary or as a prefix.

    python bench/delta_speed.py [--rounds 5]

For each of the 13 real OpenAI snapshots in ../shared/ota-data, the page
fetched again with new nonces (as `bench/crawl_speed.py` serves it) and the
next real version of the same document, each compressed against the page as
first fetched: with python-zstandard's raw-content dictionary (what
policywatch did before) and with `storage.blobs.compress` (the keyframe as a
prefix). Prints CPU milliseconds per page (least of the rounds) and the
delta's size, and checks that every delta reads back both ways; then what a
keyframe (a page stored on its own) costs at zstd levels 1 and 3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from crawl_speed import fetched_body, load_pages  # noqa: E402
from policywatch.reference_data import shared_path  # noqa: E402
from storage import blobs, frames  # noqa: E402


def as_dictionary(data: bytes, base: bytes) -> bytes:
    """The delta as policywatch made it before: the keyframe as a raw-content dictionary, the same parameters."""
    window = min(27, max(19, (len(base) + len(data)).bit_length()))
    parameters = zstandard.ZstdCompressionParameters(
        window_log=window, hash_log=min(18, window), chain_log=min(18, window), search_log=1, min_match=7,
        target_length=0, strategy=zstandard.STRATEGY_FAST)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(dict_data=dictionary, compression_params=parameters).compress(data)


def read_back(frame: bytes, data: bytes, base: bytes) -> bytes:
    """A delta read as storage reads it."""
    return frames.checked_decompress(frame, len(data), base, name="delta", error=SystemExit)


def cpu_ms(work, rounds: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = load_pages(shared_path("ota-data", "snapshots"))
    cases = {
        "fetched again (new nonces)": [(fetched_body(p, "unchanged", "/p"), fetched_body(p, "first", "/p")) for p in pages],
        "next real version": [(pages[p.successor].body, p.body) for p in pages],
    }
    print(f"{len(pages)} real OpenAI snapshots, average {statistics.mean(len(p.body) for p in pages) / 1024:.0f} KB")
    print(f"{'':<28} {'dictionary':>12} {'prefix':>12}   {'bytes (dictionary / prefix), median and largest'}")
    for name, pairs in cases.items():
        old_sizes, new_sizes = [], []
        for data, base in pairs:
            delta, old = blobs.compress(data, base), as_dictionary(data, base)
            dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            if (read_back(old, data, base) != data or read_back(delta, data, base) != data
                    or zstandard.ZstdDecompressor(dict_data=dictionary).decompress(delta) != data):
                raise SystemExit(f"{name}: a delta did not read back")
            old_sizes.append(len(old))
            new_sizes.append(len(delta))
        before = cpu_ms(lambda: [as_dictionary(d, b) for d, b in pairs], args.rounds) / len(pairs)
        after = cpu_ms(lambda: [blobs.compress(d, b) for d, b in pairs], args.rounds) / len(pairs)
        print(f"{name:<28} {before:>9.2f} ms {after:>9.2f} ms   "
              f"{statistics.median(old_sizes):.0f} / {statistics.median(new_sizes):.0f}, "
              f"{max(old_sizes)} / {max(new_sizes)}")
    bodies = [p.body for p in pages]
    for level in (1, 3):
        parameter = frames.zstd.CompressionParameter
        options = {parameter.compression_level: level, parameter.checksum_flag: 1}  # as storage.blobs writes them
        spent = cpu_ms(lambda: [frames.zstd.compress(b, options=options) for b in bodies], args.rounds) / len(bodies)
        size = statistics.mean(len(frames.zstd.compress(b, options=options)) for b in bodies)
        mark = " (storage.blobs)" if level == blobs.KEYFRAME_LEVEL else ""
        print(f"keyframe at level {level}{mark}: {spent:.2f} ms, {size / 1024:.1f} KB on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
