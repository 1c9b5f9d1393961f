"""What rendering a version's Markdown costs a version page (reports/policytext.py), on real texts.

Renders every version of OpenAI's real policy documents in ../shared/ota-data (Open Terms Archive), and
prints the median time per text, per 10 KB, and for the largest text, against rendering the page from the
text alone (the Jinja2 template with the text as before: escaped into one <pre>).

    python bench/markdown_speed.py [--data DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from markupsafe import escape  # noqa: E402

from reports.policytext import render_markdown  # noqa: E402


def timed(function, text: str, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(text)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/ota-data/versions")
    args = parser.parse_args()
    files = sorted(args.data.rglob("*.md"))[:2000] if args.data.is_dir() else []
    if not files:
        print(f"markdown_speed: no Markdown texts under {args.data}", file=sys.stderr)
        return 1
    texts = [f.read_text(encoding="utf-8") for f in files]
    base = "https://openai.com/policies/privacy-policy/"
    markdown = [timed(lambda t: render_markdown(t, base), t) for t in texts]
    plain = [timed(lambda t: str(escape(t)), t) for t in texts]
    per_10kb = [ms / (len(t) / 10_000) for ms, t in zip(markdown, texts) if len(t) >= 1_000]
    largest = max(range(len(texts)), key=lambda i: len(texts[i]))
    print(f"markdown_speed: {len(texts):,} real texts, median {statistics.median(len(t) for t in texts) / 1000:.1f} KB")
    print(f"  Markdown to HTML, median per text:   {statistics.median(markdown):7.2f} ms "
          f"(escaping the text into a <pre>: {statistics.median(plain):.2f} ms)")
    print(f"  per 10 KB of text, median:           {statistics.median(per_10kb):7.2f} ms")
    print(f"  the largest text ({len(texts[largest]) / 1000:.0f} KB):          {markdown[largest]:7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
