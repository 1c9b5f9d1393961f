"""Time of the word diff on real and pathological input.

    python bench/diff_speed.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.diff import diff_texts  # noqa: E402


def timed(old: str, new: str, repeat: int = 5) -> tuple[float, int, int]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        diff = diff_texts(old, new)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, diff.words_added, diff.words_removed


def paragraphs(rng: random.Random, vocabulary: list[str], words: int) -> str:
    out, count = [], 0
    while count < words:
        n = rng.randint(15, 60)
        out.append(" ".join(rng.choice(vocabulary) for _ in range(n)) + ".")
        count += n
    return "\n\n".join(out) + "\n"


def main() -> int:
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(3000)] + ["the", "data", "we", "your", "and", "to"] * 200
    old = paragraphs(rng, vocabulary, 20_000)
    rewrite = paragraphs(rng, vocabulary, 20_000)
    ms, added, removed = timed(old, rewrite)
    print(f"complete rewrite, 20,000 words each side: {ms:.0f} ms (+{added} / -{removed} words)")
    lines = old.splitlines(keepends=True)
    for i in rng.sample(range(0, len(lines), 2), len(lines) // 50):
        words = lines[i].split()
        words[rng.randrange(len(words))] = "CHANGED"
        lines[i] = " ".join(words) + "\n"
    ms, added, removed = timed(old, "".join(lines))
    print(f"2 % of paragraphs edited, 20,000 words: {ms:.1f} ms (+{added} / -{removed} words)")
    shared = REPO.parent / "shared" / "ota-data" / "snapshots" / "ChatGPT" / "Privacy Policy"
    if shared.is_dir():
        a = (shared / "2024-08-20T18-30-17Z.version.md").read_text(encoding="utf-8")
        b = (shared / "2024-11-05T12-30-04Z.version.md").read_text(encoding="utf-8")
        ms, added, removed = timed(a, b)
        print(f"real OpenAI privacy policy change 2024-08-20 → 2024-11-05: {ms:.0f} ms (+{added} / -{removed} words)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
