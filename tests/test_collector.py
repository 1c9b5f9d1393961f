"""The cyclic garbage collector's young threshold, raised for start-up (policywatch/collector.py).

Each case runs in a subprocess: the thresholds are the whole process's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policywatch.collector import YOUNG_THRESHOLD

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True,
                          cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("before,raised,after", [
    ((700, 10, 10), True, [YOUNG_THRESHOLD, 10, 10]),  # Python's default
    ((700, 5, 20), True, [YOUNG_THRESHOLD, 5, 20]),  # the older generations' thresholds stay
    ((0, 10, 10), False, [0, 10, 10]),  # a collector turned off stays off
    ((100_000, 10, 10), False, [100_000, 10, 10]),  # one that already collects less often is left alone
])
def test_only_the_young_threshold_is_raised_and_only_upwards(before, raised, after):
    result = _run(f"""\
        import gc, json
        gc.set_threshold(*{before!r})
        from policywatch.collector import collect_less_often
        print(json.dumps({{"raised": collect_less_often(), "after": gc.get_threshold()}}))
        """)
    assert result == {"raised": raised, "after": after}


def test_start_up_walks_what_it_builds_less_often():
    # What a first night builds before its first page: the crawl's modules, the record's, the bundled rules and
    # claims. With Python's default threshold the collector runs hundreds of times and walks everything in full
    # collections; raised, a fraction of that.
    code = """\
        import gc, json, sys
        if sys.argv[1] == "raised":
            from policywatch.collector import collect_less_often
            collect_less_often()
        from pathlib import Path
        import crawler.runner, ingest.record, storage.record
        from analysis.rules import language_data
        from ingest.claims_declarations import load_claims
        language_data("en")
        load_claims(Path("claims"))
        stats = gc.get_stats()
        print(json.dumps({"young": stats[0]["collections"], "full": stats[2]["collections"]}))
        """
    counts = {}
    for setting in ("default", "raised"):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), setting], capture_output=True, text=True,
                              check=True, cwd=REPO)
        counts[setting] = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["default"]["young"] > 100, counts
    assert counts["raised"]["young"] * 10 < counts["default"]["young"], counts
    assert counts["raised"]["full"] < counts["default"]["full"], counts


def test_every_policywatch_process_and_scrapy_crawl_raise_it():
    result = _run("""\
        import gc, json
        seen = []
        import policywatch.cli as cli
        try:
            cli.main(["--help"])
        except SystemExit:
            pass
        seen.append(gc.get_threshold()[0])
        gc.set_threshold(700, 10, 10)
        import policywatch.scrapy_settings
        seen.append(gc.get_threshold()[0])
        print(json.dumps(seen))
        """)
    assert result == [YOUNG_THRESHOLD, YOUNG_THRESHOLD]
