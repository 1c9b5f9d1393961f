"""The look for a meta refresh, per page: Scrapy's middleware against policywatch's, on the real OpenAI pages.

    python bench/meta_refresh_speed.py [--rounds 5]

Each of the 13 raw snapshots in ../shared/ota-data is handed, as a fresh
response, to Scrapy's `MetaRefreshMiddleware` and to
`crawler.middlewares.TextlessMetaRefreshMiddleware`; it prints the CPU time
per page (least of the rounds) and checks that both answer the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapy import Request, Spider  # noqa: E402
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware  # noqa: E402
from scrapy.http import HtmlResponse  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from crawler.middlewares import TextlessMetaRefreshMiddleware  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

URL = "http://127.0.0.1/policy"
HEADERS = {"Content-Type": "text/html; charset=utf-8"}  # as the pages are served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("skipped: ../shared/ota-data not found")
        return 0
    bodies = [path.read_bytes() for path in sorted((shared / "ota-data").rglob("*.html"))]
    crawler = get_crawler(Spider)
    answers = {}
    for middleware in (MetaRefreshMiddleware, TextlessMetaRefreshMiddleware):
        instance = middleware.from_crawler(crawler)
        least = float("inf")
        for _ in range(args.rounds):
            responses = [HtmlResponse(URL, body=body, request=Request(URL), headers=HEADERS) for body in bodies]
            start = time.process_time()
            results = [instance.process_response(response.request, response) for response in responses]
            least = min(least, time.process_time() - start)
        answers[middleware.__name__] = [(type(r).__name__, r.url) for r in results]
        print(f"{middleware.__name__:<32} {least / len(bodies) * 1000:.3f} ms CPU a page "
              f"({len(bodies)} pages, average {sum(map(len, bodies)) / len(bodies) / 1024:.0f} KB)")
    same = len(set(map(tuple, answers.values()))) == 1
    print("the same answer for every page" if same else f"different answers: {answers}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
