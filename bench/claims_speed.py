"""How fast claims are evaluated on OpenAI's real history.

Prints, for the bundled claims (claims/openai.yaml) over every version in
../shared/ota-data (each series of versions/index.csv one source, see
tests/ota_series.py):

- from scratch: loading the claims, then folding the engine over the whole
  history (the work after a claims file changes), median of N runs, each
  with the sentence and flagger caches cleared;
- one night: every source fetched once, one of them changed (the largest
  rewrite of the privacy policy, 2026-01-23 → 2026-05-18), the others
  unchanged. The engine state is resumed the way storage would hold it (open
  intervals, claim states, the changed source's previous text) and the night
  is applied: one version and the unchanged fetches. Shown for the first
  night of a process (caches cold, language data already loaded by the
  crawl's flagger) and as the median of N.
- many sources under one claim: N copies of the privacy policy's versions
  as N sources (each copy's first version), applied one after the other as
  a first night records them: the cost per source must not grow with N.

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); prints
"skipped: …" and exits 0 when it is absent.

Usage: python bench/claims_speed.py [-n RUNS] [--copies 250,1000]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/ota_series.py: how ota-data's series become sources

from analysis.align import sentence_key  # noqa: E402
from analysis.claims import (  # noqa: E402
    ClaimSet,
    EngineState,
    SourceConfirmed,
    SourceState,
    apply,
    evaluate,
    history_events,
)
from analysis.classify import classify_sentence  # noqa: E402
from analysis.rules import language_data  # noqa: E402
from analysis.sentences import _block_sentences  # noqa: E402
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims  # noqa: E402
from ota_series import events, privacy_source_id, series  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

CHANGED_AT = "2026-05-18"


def clear_caches() -> None:
    _block_sentences.cache_clear()
    classify_sentence.cache_clear()
    sentence_key.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--copies", default="250,1000", help="numbers of sources for the many-sources figure")
    args = parser.parse_args()
    ota = (shared_dir() or ROOT) / "ota-data"
    if not (ota / "versions" / "index.csv").is_file():
        print(f"skipped: {ota} not found")
        return 0
    language_data("en")
    by_source = {sid: list(events(sid, rows, classify=False)) for sid, rows in series(ota).items()}
    history = history_events(by_source)
    versions = len(history)

    start = time.perf_counter()
    claims = ClaimSet(load_claims(BUNDLED_CLAIMS))
    load_ms = (time.perf_counter() - start) * 1000
    scratch = []
    for _ in range(args.runs):
        clear_caches()
        start = time.perf_counter()
        result = evaluate(ClaimSet(claims), history)
        scratch.append(time.perf_counter() - start)
    intervals = len(result.intervals)
    status_events = sum(len(t) for t in result.timelines.values())
    print(f"claims: {len(claims)} (loaded and compiled in {load_ms:.0f} ms); sources: {len(by_source)}; "
          f"versions: {versions}")
    print(f"from scratch: {statistics.median(scratch):.2f} s median of {args.runs} "
          f"(min {min(scratch):.2f} s, {1000 * statistics.median(scratch) / versions:.1f} ms per version); "
          f"{intervals} evidence intervals, {status_events} status events, {len(result.errors)} errors")

    privacy = by_source[privacy_source_id()]
    index = next(i for i, e in enumerate(privacy) if e.at.date().isoformat() == CHANGED_AT)
    changed, previous = privacy[index], privacy[index - 1]
    before = [e for e in history if not (e.source.id == privacy_source_id() and e.number >= changed.number)]
    folded = evaluate(claims, before).state
    unchanged = [SourceConfirmed(sid, changed.at) for sid in sorted(by_source) if sid != privacy_source_id()]

    def night() -> tuple[float, int]:
        start = time.perf_counter()
        sources = {sid: SourceState.resume(s.source, s.version, previous.text if sid == privacy_source_id() else None,
                                           s.intervals, declared=s.declared)
                   for sid, s in folded.sources.items()}
        state = EngineState(sources=sources, statuses=dict(folded.statuses))
        state, update = apply(claims, state, changed)
        for confirmation in unchanged:
            state, _ = apply(claims, state, confirmation)
        return (time.perf_counter() - start) * 1000, len(update.events)

    clear_caches()
    first_ms, night_events = night()
    nights = []
    for _ in range(args.runs):
        clear_caches()
        nights.append(night()[0])
    words = len(changed.text.split())
    print(f"one night, one changed source ({privacy_source_id()} v{changed.number}, {words} words, "
          f"{CHANGED_AT}) and {len(unchanged)} unchanged: first night of a process {first_ms:.0f} ms, "
          f"median {statistics.median(nights):.0f} ms (min {min(nights):.0f} ms); {night_events} status events")

    for count in (int(c) for c in args.copies.split(",") if c.strip()):
        copies = [replace(privacy[i % len(privacy)], source=replace(privacy[0].source, id=f"copy/{i}"), number=1,
                          change_kind=None) for i in range(count)]
        state = EngineState()
        start = time.perf_counter()
        for copy in copies:
            state, _ = apply(claims, state, copy)
        seconds = time.perf_counter() - start
        print(f"{count} sources under the same claims (copies of {privacy_source_id()}'s versions), their first "
              f"versions: {seconds:.1f} s, {1000 * seconds / count:.1f} ms per source; "
              f"{len(state.open_intervals())} open intervals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
