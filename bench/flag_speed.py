"""How fast the flagger is on real OpenAI policy text.

Prints the median of N runs for:
- classify() on the whole current OpenAI privacy policy (the genai-eu version
  of 2026-07-25), with the per-sentence cache cleared before every run;
- analyse_change() on the genai-contrib pair of 2024-10-19 → 2024-11-05 (the
  rewrite of what happens to chats with history off), cache cleared too;
- analyse_change() on the largest rewrite in the history (2026-01-23 → 2026-05-18).

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); prints
"skipped: …" and exits 0 when it is absent.

Usage: python bench/flag_speed.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.classify import classify, classify_sentence  # noqa: E402
from policywatch.reference_data import shared_path  # noqa: E402
from analysis.meaning import analyse_change  # noqa: E402
from analysis.sentences import split_sentences  # noqa: E402



def median_ms(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        classify_sentence.cache_clear()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=21)
    args = parser.parse_args()

    versions = shared_path("ota-data", "versions")
    current = versions / "genai-eu" / "ChatGPT" / "Privacy Policy" / "2026-07-25T10-30-09Z.md"
    contrib = versions / "genai-contrib" / "ChatGPT" / "Privacy Policy"
    pairs = {
        "2024-10-19 → 2024-11-05 (chat-history retention rewrite)": ("2024-10-19T00-30-16Z.md", "2024-11-05T12-30-04Z.md"),
        "2026-01-23 → 2026-05-18 (largest rewrite)": ("2026-01-23T19-00-29Z.md", "2026-05-18T07-00-18Z.md"),
    }
    needed = [current] + [contrib / name for pair in pairs.values() for name in pair]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        print(f"skipped: {missing[0]} not found (set POLICYWATCH_SHARED to the shared directory)")
        return 0

    text = current.read_text(encoding="utf-8")
    classify(text, "en")  # load and compile the rules once, as a long-running process would
    words = len(text.split())
    sentences = len(split_sentences(text, "en"))
    print("Flagger speed (Open Terms Archive data, ODC-BY 1.0); median and best of", args.runs, "runs, cold sentence cache")
    median, best = median_ms(args.runs, lambda: classify(text, "en"))
    print(f"classify, current privacy policy ({words} words, {sentences} sentences): median {median:.1f} ms, best {best:.1f} ms")
    median, best = median_ms(args.runs, lambda: classify(text))
    print(f"classify, same, language detected: median {median:.1f} ms, best {best:.1f} ms")
    for label, (old_name, new_name) in pairs.items():
        old = (contrib / old_name).read_text(encoding="utf-8")
        new = (contrib / new_name).read_text(encoding="utf-8")
        median, best = median_ms(args.runs, lambda: analyse_change(old, new, "en"))
        result = analyse_change(old, new, "en")
        print(f"analyse_change {label}: median {median:.1f} ms, best {best:.1f} ms ({result.severity}, {len(result.evidence)} evidence items)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
