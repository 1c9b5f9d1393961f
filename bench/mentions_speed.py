"""CPU time of finding claim mentions in press articles: the bundled claims over the saved EN/DE/FR articles.

    python bench/mentions_speed.py [--rounds 50]

Reads the extracted texts of the saved article fixtures
(``tests/data/news/golden/*.json``), splits them into sentences once, then
runs ``analysis.claims.mentions.find_mentions`` with every bundled claim
(``claims/``) over each article ``rounds`` times. Prints the median and the
slowest CPU time per article, per language, and the mentions found.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.claims.mentions import find_mentions  # noqa: E402
from analysis.sentences import split_sentences  # noqa: E402
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "news" / "golden"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    claims = load_claims(BUNDLED_CLAIMS)
    with_mentions = sum(1 for c in claims if c.mentions)
    print(f"{len(claims)} bundled claims, {with_mentions} with mentions; {args.rounds} rounds per article")
    for path in sorted(GOLDEN.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        language = data["language"].split("-")[0]
        sentences = split_sentences(data["text"], language)
        times = []
        for _ in range(args.rounds):
            start = time.process_time()
            found = find_mentions(claims, sentences, language)
            times.append(time.process_time() - start)
        print(f"{path.stem:38} {language}  {len(sentences):3} sentences  median {statistics.median(times) * 1000:6.2f} ms"
              f"  max {max(times) * 1000:6.2f} ms  {len(found.mentions)} mention(s)")


if __name__ == "__main__":
    main()
