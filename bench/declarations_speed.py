"""Reading a declarations file of many sources: CPU per load, by number of sources.

    python bench/declarations_speed.py [--sources 100,1000] [--repeat 5]

Every command that fetches or reports reads the declarations first. The file
is written as a user with many sources writes one (each source with its
URLs, selectors, removals and filters, as `bench/crawl_speed.py` declares its
copies), then read with `ingest.safeyaml.load_bounded` (libyaml's parser,
the limits on depth, aliases and repeated keys) and with
`ingest.declarations.load_sources` (the same, checked and turned into
sources, as a process's first load). For scale it also reads it with PyYAML's C loader and no limits.
Each figure is the median CPU time of N loads in one process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from ingest import declarations as declared  # noqa: E402
from ingest.safeyaml import load_bounded  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from crawl_speed import DECLARATIONS_HEAD  # noqa: E402  (the crawl bench's own filters)

def declarations(count: int) -> str:
    lines = [DECLARATIONS_HEAD]
    for index in range(count):
        lines.append(f"""\
  - id: vendor{index % 40:02d}/policy-{index:05d}
    vendor: Vendor {index % 40}
    title: Privacy Policy {index}
    document_type: Privacy Policy
    language: en
    urls: ["https://127.0.0.1/vendor{index % 40}/policy/{index}"]
    select: "main"
    remove: ["select[name=\\"Locale Select\\"]", "main .sr-only", "header", "footer"]
    filters: [openai-noise, tracking-params, relative-dates, typography]
""")
    return "".join(lines)


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        runs.append((time.process_time() - started) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="100,1000", help="comma-separated numbers of sources")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'sources':>8} {'KB':>6} {'load_bounded':>13} {'load_sources':>13} {'C loader alone':>15}   ms CPU, median of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.sources.split(",")):
            text = declarations(count)
            path = Path(tmp) / f"sources-{count}.yaml"
            path.write_text(text, encoding="utf-8")
            bounded = cpu_ms(lambda: load_bounded(text), args.repeat)
            # As a process's first load: the per-process memo of files already read is emptied each time.
            sources = cpu_ms(lambda: (declared._LOADED.clear(), declared.load_sources(path)), args.repeat)
            plain = cpu_ms(lambda: yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), args.repeat)
            print(f"{count:>8} {len(text.encode()) / 1024:>6.0f} {bounded:>13.0f} {sources:>13.0f} {plain:>15.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
