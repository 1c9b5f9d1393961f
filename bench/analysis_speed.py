"""How analysis scales: long policies, long blocks, repetitive text (issue 16 item 6, issue 12 items 4 and 7).

    python bench/analysis_speed.py [-n RUNS]

Real text is OpenAI's documents from ../shared/ota-data (their latest
versions, concatenated to the sizes named); the repetitive texts are
generated. Each figure is the median of N runs, the flagger's sentence cache
cleared before each, in CPU time (the process's own: other work on a shared
machine does not count). First, what every process that analyses pays once:
the English rules read and compiled, in N fresh interpreters. Goals: a 1 MB block split in under 0.2 s, a 10,000-word
policy flagged in under 100 ms, a 2 % edit of a 40,000-word policy analysed in
under 200 ms, and every repetitive case near-linear with the real edit size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.classify import classify, classify_sentence  # noqa: E402
from analysis.diff import diff_texts  # noqa: E402
from analysis.meaning import analyse_change  # noqa: E402
from analysis.rules import language_data  # noqa: E402
from analysis.sentences import _block_sentences, _split_block, inline_to_plain, split_units  # noqa: E402
from policywatch.reference_data import shared_path  # noqa: E402


def cold_rules_ms(language: str) -> float:
    """CPU time to import `analysis.rules`, then read and compile a language's rules, in a fresh interpreter."""
    code = ("import time; start = time.process_time(); from analysis.rules import language_data; "
            f"language_data({language!r}); print((time.process_time() - start) * 1000)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(done.stdout)


def median_ms(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        classify_sentence.cache_clear()
        _block_sentences.cache_clear()
        start = time.process_time()
        work()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def real_policies(words: int) -> str:
    """Latest versions of distinct OpenAI documents, largest first, until ``words`` words."""
    versions = shared_path("ota-data", "versions", "genai-contrib")
    latest = [sorted(d.glob("*.md"))[-1] for d in sorted(versions.glob("*/*")) if any(d.glob("*.md"))]
    texts = sorted((p.read_text(encoding="utf-8") for p in latest), key=len, reverse=True)
    out, count = [], 0
    for text in texts * 4:
        out.append(text)
        count += len(text.split())
        if count >= words:
            break
    return "\n\n".join(out)


def edited(text: str, fraction: float, rng: random.Random) -> str:
    """``text`` with one word changed in ``fraction`` of its paragraphs."""
    paragraphs = text.split("\n\n")
    for i in rng.sample(range(len(paragraphs)), max(1, int(len(paragraphs) * fraction))):
        words = paragraphs[i].split(" ")
        words[rng.randrange(len(words))] = "substantially"
        paragraphs[i] = " ".join(words)
    return "\n\n".join(paragraphs)


def repetitive(pieces: list[str], count: int, separator: str, changes: int, rng: random.Random) -> tuple[str, str]:
    old = [rng.choice(pieces) for _ in range(count)]
    new = list(old)
    for i in rng.sample(range(count), changes):
        new[i] = "Perhaps we keep it."
    return separator.join(old) + "\n", separator.join(new) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(16)
    cold = sorted(cold_rules_ms("en") for _ in range(args.runs))
    print(f"the English rules imported, read and compiled in a fresh process: {statistics.median(cold):.0f} ms "
          f"({cold[0]:.0f}–{cold[-1]:.0f})")
    language_data("en")

    policy = real_policies(1_000_000 // 6)
    block = inline_to_plain(" ".join(policy.split()))[:1_000_000]
    ms = median_ms(args.runs, lambda: _split_block(block, language_data("en")))
    print(f"sentence splitting, one 1 MB block of real policy text: {ms:.0f} ms (goal < 200)")

    ten = real_policies(10_000)
    words = len(ten.split())
    ms = median_ms(args.runs, lambda: classify(ten, "en"))
    print(f"flagging a {words:,}-word policy: {ms:.0f} ms (goal < 100)")

    forty = real_policies(40_000)
    changed = edited(forty, 0.02, rng)
    diff = diff_texts(forty, changed)
    ms = median_ms(args.runs, lambda: analyse_change(forty, changed, "en"))
    print(f"analysing a 2 % edit of a {len(forty.split()):,}-word policy (+{diff.words_added} / -{diff.words_removed} words): "
          f"{ms:.0f} ms (goal < 200)")

    paragraph = " ".join(policy.split())[:1_000_000]
    one_word = paragraph.replace(" data ", " information ", 1)
    start = time.perf_counter()
    diff = diff_texts(paragraph, one_word)
    print(f"diff, one word changed in a 1 MB paragraph: +{diff.words_added} / -{diff.words_removed} words, "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")

    print("\nrepetitive text: diff size and analysis time")
    yes_no = ["Yes.", "No.", "Maybe."]
    same = ["We keep your data for thirty days."]
    for label, pieces, count, separator, changes in (
        ("2,500 lines of Yes./No./Maybe., 1 changed", yes_no, 2_500, "\n", 1),
        ("20,000 lines of Yes./No./Maybe., 1 changed", yes_no, 20_000, "\n", 1),
        ("100,000 lines of Yes./No./Maybe., 1 changed", yes_no, 100_000, "\n", 1),
        ("100,000 lines of Yes./No./Maybe., 100 changed", yes_no, 100_000, "\n", 100),
        ("20,000 identical sentences, 1 changed", same, 20_000, " ", 1),
        ("20,000 identical sentences as paragraphs, 1 changed", same, 20_000, "\n\n", 1),
    ):
        old, new = repetitive(pieces, count, separator, changes, rng)
        start = time.perf_counter()
        diff = diff_texts(old, new)
        diff_ms = (time.perf_counter() - start) * 1000
        ms = median_ms(1, lambda: analyse_change(old, new, "en"))
        print(f"  {label}: +{diff.words_added} / -{diff.words_removed} words in {diff_ms:.0f} ms, analysed in {ms:.0f} ms")
    unique_old = [f"Line {i} says we keep record {i} for {i % 90 + 1} days." for i in range(100_000)]
    unique_new = [line.replace("keep", "store") if i % 10 == 0 else line for i, line in enumerate(unique_old)]
    old, new = "\n".join(unique_old) + "\n", "\n".join(unique_new) + "\n"
    start = time.perf_counter()
    diff = diff_texts(old, new)
    diff_ms = (time.perf_counter() - start) * 1000
    ms = median_ms(1, lambda: analyse_change(old, new, "en"))
    print(f"  100,000 unique lines, every tenth changed: +{diff.words_added} / -{diff.words_removed} words in {diff_ms:.0f} ms, "
          f"analysed in {ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
