"""CPU time to record one fetch, by what the fetch does to the record, on the real OpenAI privacy policy.

Each fetch goes through `ingest.record.store_outcome` as a crawl's worker
thread records it: one read of what the record holds of the source, the
decision (extraction, breadth, the change's analysis), one short write
transaction. The "crawl's thread" rows go through `ingest.record.store_quickly`
as a crawl records a first version or a page found unchanged on SQLite, on
SQLite's own connection (`storage.direct`). Pages are
the real EU privacy policy snapshots from ../shared/ota-data, into a real
SQLite file. Also prints the cost of `ingest.breadth.breadth` alone (the
check for captures that replace almost everything) on the largest texts.

    python bench/record_speed.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from ingest.breadth import breadth  # noqa: E402
from ingest.declarations import load_sources  # noqa: E402
from ingest.extraction import extract_html  # noqa: E402
from ingest.judge import prepare_page  # noqa: E402
from ingest.record import store_outcome, store_quickly  # noqa: E402
from ingest.runs import begin_run  # noqa: E402
from policywatch.reference_data import shared_path  # noqa: E402
from storage.db import make_engine, session_factory, upgrade  # noqa: E402
from storage.record import RawPage  # noqa: E402

PAGES = ("2024-11-05T12-30-04Z.html", "2025-05-20T12-30-10Z.html")
RULES = {"select": "main", "remove": ['select[name="Locale Select"]', "main .sr-only"]}


def cpu(action) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    action()
    return (time.process_time() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    folder = shared_path("ota-data", "snapshots", "ChatGPT", "Privacy Policy")
    old, new = ((folder / name).read_bytes() for name in PAGES)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "s.yaml").write_text(yaml.safe_dump({"sources": [
            {"id": f"b/{prefix}{i}", "vendor": "OpenAI", "title": "bench", "document_type": "Privacy Policy",
             "language": "en", "urls": ["https://openai.com/policies/eu-privacy-policy/"], **RULES}
            for prefix in ("p", "q") for i in range(args.rounds)]}), encoding="utf-8")
        sources = load_sources(Path(tmp) / "s.yaml")
        engine = make_engine(f"sqlite:///{tmp}/b.db")
        upgrade(engine)
        factory = session_factory(engine)
        # The crawl's own thread never waits for another writer's lock (`crawler.pipelines`).
        quick_engine = make_engine(f"sqlite:///{tmp}/b.db", lock_timeout=0.0)
        quick = session_factory(quick_engine)
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        run = begin_run(factory, "crawl", t0)

        def page(body: bytes) -> list[RawPage]:
            return [RawPage("https://openai.com/p", "https://openai.com/p", 200, "text/html; charset=utf-8", body)]

        swapped = old.replace(b"<main", b"<main><div>" + b"<p>Other terms of an altogether different document.</p>"
                              * 4000 + b"</div><template", 1).replace(b"</main>", b"</template></main>", 1)
        timings: dict[str, list[float]] = {"first": [], "unchanged": [], "as crawled": [], "changed": [], "held": [],
                                           "first, crawl's thread": [], "as crawled, crawl's thread": []}
        for sid, source in sources.items():
            if sid.startswith("b/q"):
                def quickly(body: bytes, day: float, what: str, prepared: tuple) -> None:  # type: ignore[type-arg]
                    result: list = []  # type: ignore[type-arg]
                    timings[what].append(cpu(lambda: result.append(store_quickly(
                        quick, run, source, t0 + timedelta(days=day), page(body), None, prepared=prepared))))
                    if result[0] is None:
                        raise SystemExit(f"{sid}: {what} was not recorded in the crawl's thread")
                # Bytes of its own, as every source's page is: the page and its text are stored, not found stored.
                first = old.replace(b"</main>", f"<p>{sid}</p></main>".encode(), 1)
                quickly(first, 0, "first, crawl's thread", (prepare_page(first, source.rules, None),))
                key = prepare_page(first, source.rules, None).key
                renewed = first.replace(b"</body>", f"<!-- {sid} --></body>".encode(), 1)
                quickly(renewed, 1, "as crawled, crawl's thread", (prepare_page(renewed, source.rules, None, known_key=key),))
                continue
            def store(body: bytes, day: float, what: str, prepared: tuple = ()) -> None:  # type: ignore[type-arg]
                timings[what].append(cpu(lambda: store_outcome(factory, run, source, t0 + timedelta(days=day),
                                                               page(body), None, prepared=prepared)))
            store(old, 0, "first")
            store(old, 1, "unchanged")
            # As a crawl records an unchanged page: new bytes (a nonce), the selected part's key worked out by the
            # crawler and equal to the last accepted fetch's, so no text is extracted.
            key = prepare_page(old, source.rules, None).key
            renewed = old.replace(b"</body>", f"<!-- {sid} --></body>".encode(), 1)
            store(renewed, 1.5, "as crawled", (prepare_page(renewed, source.rules, None, known_key=key),))
            store(new, 2, "changed")
            store(swapped, 3, "held")
        engine.dispose()
        quick_engine.dispose()
    print(f"store_outcome, real EU privacy policy pages ({len(old) // 1024} KB and {len(new) // 1024} KB), "
          f"{args.rounds} rounds, CPU ms per fetch (median):")
    for what, values in timings.items():
        values.sort()
        print(f"  {what:26} {values[len(values) // 2]:7.1f}")
    text_old, text_new = extract_html(old, sources["b/p0"].rules), extract_html(new, sources["b/p0"].rules)
    big = "\n\n".join([text_new] * 10)
    for label, a, b in (("policy → next policy", text_old, text_new), ("policy → ten times the text", text_new, big)):
        ms = min(cpu(lambda: breadth(a, b)) for _ in range(5))
        print(f"breadth, {label} ({len(a.split())} → {len(b.split())} words): {ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
