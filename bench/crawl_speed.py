"""A nightly crawl against its floor: `policywatch crawl` beside a bare Scrapy + lxml spider.

    python bench/crawl_speed.py [--sources 1000] [--repeat 1] [--changed 0.02] [--digest] [--profile DIR]

Serves N copies of the real OpenAI policy snapshots of ../shared/ota-data
from a local server on 127.0.0.1 (TCP_NODELAY, one write per response), each
response with fresh random values in place of the page's own hashes and
nonces (as real pages have on every fetch; the values are chosen so the
extracted text stays the same). Then, each in its own process, it measures:

- the floor: a bare Scrapy spider that fetches every page and parses it with lxml;
- the same floor with the allocator thresholds every policywatch process sets (`policywatch.allocator`, through
  glibc's environment variables): what the floor gains from them, which policywatch's figures also contain;
- the floor plus pages kept, two nights: the same spider also keeping every page as a record of every fetch
  must at the least (its sha256, the page as a zstd delta against its URL's keyframe, checked first, with
  storage.blobs' settings, and one row committed per page in SQLite);
- the first night: `policywatch crawl` into a fresh SQLite database;
- the unchanged night: `policywatch crawl` again, every page with new nonces, the same text;
- with --changed F: a night in which a fraction F of the sources serve their next real version.

Every source is declared as the bundled OpenAI privacy policies are
(sources/openai.yaml): the same filters, `openai-noise` as they define it.
Both crawlers fetch 8 pages at a time from the one host, AutoThrottle off.
It prints CPU-seconds (user + system, the whole process), the ratio to the
floor, peak memory (maximum resident set), minor page faults and the
CPU-seconds spent in the kernel. With --repeat N each figure is
the median of N runs (each policywatch run starts from a fresh database), and
the ratio the median of each run's figure over the floor measured in the same
run, with their range: the machine's speed drifts between runs by more than
the differences measured.
--digest prints a hash of every stored text, outcome, snapshot, change, log entry and feed entry, to
compare before and after a change to the code (responses are random but
seeded by night and path, so the same code records the same bytes), a
second of how the raw pages are stored (which compression settings change),
and a third of the content keys (which any change to the extraction code
changes, by design).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from extract_speed import FILTERS as BUNDLED_FILTERS  # noqa: E402
from policywatch import allocator  # noqa: E402
from policywatch.localserver import LocalServer, Page  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

US_UNTIL = "2024-05"  # snapshots before this were taken with the US page's selector
TOKEN = re.compile(rb"[0-9a-f]{16,}|[A-Za-z0-9_-]{20,}={0,2}")
HEX = b"0123456789abcdef"

DECLARATIONS_HEAD = """\
filters:
  openai-noise:
    strip_query_params: ["openaicom-did", "openaicom_referred", "utm_*"]
    replace:
      - pattern: "\\u2060?\\\\(opens in a new window\\\\)"
        with: ""
sources:
"""

# A bare Scrapy spider that fetches every page and parses it with lxml; `$keep` is what it does besides.
SPIDER = string.Template(textwrap.dedent("""\
    import sys
    import lxml.html
    import scrapy
    from scrapy.crawler import CrawlerProcess

    URLS = open(sys.argv[1]).read().split()
    $setup

    class Floor(scrapy.Spider):
        name = "floor"

        async def start(self):
            for url in URLS:
                yield scrapy.Request(url, dont_filter=True)

        def parse(self, response):
            root = lxml.html.document_fromstring(response.body)
            $keep
            yield {"url": response.url, "elements": sum(1 for _ in root.iter())}

    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
        "CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    process.crawl(Floor)
    process.start()
    $check
"""))
# Failing unless it parsed every page: a floor that stopped early would be measured as cheap.
FLOOR_SPIDER = SPIDER.substitute(setup="PARSED = []", keep="PARSED.append(response.url)",
                                 check="sys.exit(0 if len(PARSED) == len(URLS) else 3)")

# The floor plus the least a record of every fetch must do: each page's sha256, the page kept compressed
# against the keyframe of its URL with storage.blobs' settings (a keyframe at zstd level 1 with zstd's checksum; a
# delta with the fast strategy against the keyframe as a prefix, the keyframe read back and checked first), and one
# row committed per page, in SQLite.
KEEP = textwrap.dedent("""\
    import hashlib
    import sqlite3
    try:
        from compression import zstd
    except ImportError:
        from backports import zstd

    DB = sqlite3.connect(sys.argv[2])
    DB.execute("CREATE TABLE IF NOT EXISTS pages (url TEXT, sha256 TEXT, base TEXT, size INTEGER, data BLOB)")
    DB.execute("CREATE INDEX IF NOT EXISTS pages_by_url ON pages (url, base)")  # the keyframe's look-up
    P = zstd.CompressionParameter


    def keep(url, body):
        sha = hashlib.sha256(body).hexdigest()
        row = DB.execute("SELECT sha256, data FROM pages WHERE url = ? AND base IS NULL ORDER BY rowid DESC LIMIT 1",
                         (url,)).fetchone()
        payload, base = None, None
        if row is not None:
            keyframe = zstd.decompress(row[1])  # checked by zstd's checksum
            window = min(27, max(19, (len(keyframe) + len(body)).bit_length()))
            options = {P.window_log: window, P.hash_log: min(18, window), P.chain_log: min(18, window),
                       P.search_log: 1, P.min_match: 7, P.target_length: 0, P.strategy: zstd.Strategy.fast}
            delta = zstd.compress(body, options=options, zstd_dict=zstd.ZstdDict(keyframe, is_raw=True).as_prefix)
            if len(delta) <= max(256, 0.02 * len(body)):
                payload, base = delta, row[0]
        if payload is None:
            payload = zstd.compress(body, options={P.compression_level: 1, P.checksum_flag: 1})
        DB.execute("INSERT INTO pages VALUES (?, ?, ?, ?, ?)", (url, sha, base, len(body), payload))
        DB.commit()
""")
KEEP_CHECK = textwrap.dedent("""\
    rows, deltas = DB.execute("SELECT count(*), count(base) FROM pages").fetchone()
    if rows % len(URLS) or deltas != rows - len(URLS):  # every page kept; every night's after the first a delta
        print(f"{rows} pages kept for {len(URLS)} addresses, {deltas} of them as deltas")
        sys.exit(3)
""")
KEEPER_SPIDER = SPIDER.substitute(setup=KEEP, keep="keep(response.url, response.body)", check=KEEP_CHECK)


@dataclass(frozen=True)
class BasePage:
    name: str
    body: bytes
    tokens: tuple[bytes, ...]  # values that may change on every fetch without changing the text
    select: str
    remove: tuple[str, ...]
    successor: int  # index of the page holding this document's next real version


def load_pages(snapshots: Path) -> list[BasePage]:
    from ingest.extraction import BUILTIN_FILTERS, ExtractionRules, extract_html

    paths = sorted(snapshots.rglob("*.html"))
    pages = []
    for index, path in enumerate(paths):
        us = path.name < US_UNTIL
        select = "#landings-privacy-policy" if us else "main"
        remove = ("header", "footer", "[aria-hidden=true]") if us else ('select[name="Locale Select"]', "main .sr-only")
        body = path.read_bytes()
        filters = tuple(BUILTIN_FILTERS[n] for n in ("tracking-params", "relative-dates", "typography"))
        text = extract_html(body, ExtractionRules(select=(select,), remove=remove, filters=filters))
        found = sorted(set(TOKEN.findall(body)), key=lambda t: (len(t), t))[-60:]
        # A value with a digit in it (a hash, a nonce), never a name such as an id or class a selector uses.
        tokens = tuple(t for t in found if re.search(rb"\d", t) and t.decode("latin-1") not in text)
        pages.append(BasePage(path.name, body, tokens, select, remove, index))
    # The next version of the same document, in time; the newest one's is the one before it.
    def document(page: BasePage) -> tuple[bool, bool]:
        return page.name < US_UNTIL, "improve-model-performance" in page.name

    result = []
    for index, page in enumerate(pages):
        same = sorted((p.name, i) for i, p in enumerate(pages) if document(p) == document(page))
        names = [name for name, _ in same]
        at = names.index(page.name)
        successor = same[at + 1][1] if at + 1 < len(same) else same[max(0, at - 1)][1]
        result.append(BasePage(page.name, page.body, page.tokens, page.select, page.remove, successor))
    return result


def fetched_body(page: BasePage, night: str, path: str) -> bytes:
    rng = random.Random(f"{night}:{path}")
    body = page.body
    for token in page.tokens:
        body = body.replace(token, bytes(rng.choice(HEX) for _ in token))
    return body


class Night:
    """Which page each path serves tonight, with tonight's nonces."""

    def __init__(self, pages: list[BasePage], count: int):
        self.pages, self.count = pages, count
        self.name = "first"
        self.served = [i % len(pages) for i in range(count)]

    def route(self, index: int):  # type: ignore[no-untyped-def]
        path = f"/policy/{index}"
        return lambda: Page(fetched_body(self.pages[self.served[index]], self.name, path))


# The filters of the bundled declaration of OpenAI's EU privacy policy, by name (extraction's bench reads them from
# sources/openai.yaml): each source is declared with them, `openai-noise` as DECLARATIONS_HEAD copies it.
FILTERS = tuple(spec.name for spec in BUNDLED_FILTERS)


def write_declarations(path: Path, base_url: str, night: Night) -> None:
    lines = [DECLARATIONS_HEAD]
    for index in range(night.count):
        page = night.pages[night.served[index]]
        remove = ", ".join(json.dumps(r) for r in page.remove)
        lines.append(f"""\
  - id: bench/s{index:05d}
    vendor: OpenAI
    title: Privacy Policy copy {index}
    document_type: Privacy Policy
    language: en
    urls: ["{base_url}/policy/{index}"]
    select: {json.dumps(page.select)}
    remove: [{remove}]
    filters: [{", ".join(FILTERS)}]
""")
    path.write_text("".join(lines), encoding="utf-8")


class Measured(NamedTuple):
    cpu: float  # CPU-seconds, user + system
    mem: float  # peak resident memory, MB
    output: str
    faults: int  # minor page faults: memory the kernel handed (back) to the process
    system: float  # CPU-seconds in the kernel, of `cpu`


def measure(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """CPU-seconds (user + system), peak resident memory (MB) and page faults of one process run to its end."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{output[-3000:]}")
    return Measured(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output, usage.ru_minflt, usage.ru_stime)


TUNED_FLOOR = "floor, allocator as policywatch's"
PROFILE_DIR: Path | None = None  # --profile: each policywatch night also writes a cProfile file here


def policywatch(db: Path, sources: Path, now: str) -> list[str]:
    profile = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"{db.stem}-{now[:10]}.prof")] if PROFILE_DIR else []
    return [sys.executable, *profile, "-m", "policywatch", "--db", str(db), "--sources", str(sources), "crawl", "--now", now]


def crawl_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update({"POLICYWATCH_AUTOTHROTTLE": "false", "POLICYWATCH_CONCURRENCY_PER_DOMAIN": "8",
                "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true", "POLICYWATCH_CONFIG": str(workdir / "none.toml")})
    (workdir / "none.toml").write_text("", encoding="utf-8")
    return env


def outcome_counts(db: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return dict(conn.execute("SELECT outcome, count(*) FROM fetch_outcomes WHERE run_id = ? GROUP BY outcome",
                                 (row[0],)).fetchall())


def digest(db: Path, workdir: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """A hash of what the record holds (versions, outcomes, snapshots, changes, the tamper-evident log's entries,
    and the report's feeds); one of how its raw pages are stored (each blob's keyframe and compressed bytes),
    which a change of compression settings changes and nothing else should; and one of the snapshots' content
    keys, which cover the extraction code and so change with any change to it."""
    import sqlite3

    from storage import texts
    from storage.db import make_engine, session_factory

    # Texts are stored compressed (storage.texts); hashed as plain text, so a digest compares across storage formats.
    engine = make_engine(f"sqlite:///{db}")
    with session_factory(engine)() as session, sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source_id, number, sha256 FROM versions ORDER BY source_id, number").fetchall()
        plain = texts.read_many(session, {row[2] for row in rows})
    engine.dispose()
    h = hashlib.sha256()
    for row in rows:
        h.update(repr((*row, plain[row[2]])).encode("utf-8"))
    with sqlite3.connect(db) as conn:
        conn.create_function("sha256", 1, lambda data: hashlib.sha256(data).hexdigest(), deterministic=True)
        # Rows refer to one another by what they are, not by ids, which follow the order in which concurrent
        # fetches happened to be recorded; so do the log's global links (`seq`, `prev`, and `hash` and
        # `prev_subject`, which depend on them).
        snapshots = conn.execute("SELECT source_id, position, fetched_at, blob_sha256, http_status, content_key "
                                 "FROM snapshots ORDER BY source_id, fetched_at, position").fetchall()
        for source_id, position, fetched_at, blob_sha256, http_status, _ in snapshots:
            h.update(repr((source_id, position, fetched_at, blob_sha256, http_status)).encode("utf-8"))
        keys = hashlib.sha256(repr([(row[0], row[1], row[2], row[5]) for row in snapshots]).encode())
        for query in ("SELECT source_id, detected_at, words_added, words_removed, lines_added, lines_removed, kind, "
                      "flags, severity, summary, evidence, announced, announced_flags FROM changes "
                      "ORDER BY source_id, detected_at",
                      "SELECT o.source_id, o.at, o.outcome, o.failure_kind, o.detail, o.http_status, o.url, "
                      "o.text_sha256, v.number FROM fetch_outcomes o LEFT JOIN versions v ON v.id = o.version_id "
                      "ORDER BY o.source_id, o.at, o.outcome",
                      "SELECT v.source_id, v.number, v.first_seen, v.last_confirmed, o.at FROM versions v "
                      "JOIN fetch_outcomes o ON o.id = v.outcome_id ORDER BY v.source_id, v.number",
                      "SELECT kind, subject, number, text_sha256, snapshots, first_seen FROM ledger_entries "
                      "ORDER BY kind, subject, number",
                      "SELECT sha256, size FROM blobs ORDER BY sha256"):
            for row in conn.execute(query):
                # Each run serves the pages on a port of its own.
                h.update(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1", repr(row)).encode("utf-8"))
        stored = hashlib.sha256(repr(conn.execute("SELECT sha256, base_sha256, sha256(data) FROM blobs ORDER BY sha256")
                                     .fetchall()).encode("utf-8"))
    site = workdir / "site"
    subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), "report", "--out", str(site),
                    "--base-url", "https://policywatch.example/"], env=env, cwd=REPO, check=True, capture_output=True)
    for feed in sorted([*site.rglob("*.atom"), *site.rglob("*.rss")]):
        # The feeds' own build time is not part of what was recorded, and change numbers follow the order
        # in which concurrent fetches happened to be recorded: lines are compared as a set, numbers left out.
        text = re.sub(rb"<(updated|lastBuildDate)>[^<]*</\1>", b"", feed.read_bytes())
        text = re.sub(rb"changes/\d+\.html", b"changes/N.html", text)
        h.update(feed.relative_to(site).as_posix().encode())
        h.update(b"\n".join(sorted(text.splitlines())))
    return h.hexdigest()[:16], stored.hexdigest()[:16], keys.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the median is shown")
    parser.add_argument("--changed", type=float, default=0.0, help="also measure a night in which this fraction of "
                        "sources serve their next real version")
    parser.add_argument("--digest", action="store_true", help="print a hash of everything recorded (slow: builds the report)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the last run's database and report in DIR")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run each policywatch night under cProfile, "
                        "writing DIR/run<N>-<date>.prof (its figures then include the profiler's overhead)")
    args = parser.parse_args()
    global PROFILE_DIR
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILE_DIR = args.profile.resolve()
    shared = shared_dir()
    if shared is None:
        print("skipped: ../shared/ota-data not found")
        return 0
    pages = load_pages(shared / "ota-data" / "snapshots")
    night = Night(pages, args.sources)
    average = sum(len(p.body) for p in pages) / len(pages)
    print(f"{args.sources} sources served locally from {len(pages)} real OpenAI snapshots (average {average / 1024:.0f} KB), "
          f"{args.repeat} run(s) each, median shown")
    figures: dict[str, list[Measured]] = {}
    digests: list[tuple[str, str, str]] = []
    with LocalServer({f"/policy/{i}": night.route(i) for i in range(args.sources)}) as server, \
            tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = crawl_env(work)
        urls = work / "urls.txt"
        urls.write_text("\n".join(f"{server.base_url}/policy/{i}" for i in range(args.sources)), encoding="utf-8")
        floor = work / "floor.py"
        floor.write_text(FLOOR_SPIDER, encoding="utf-8")
        keeper = work / "keeper.py"
        keeper.write_text(KEEPER_SPIDER, encoding="utf-8")
        declarations = work / "sources.yaml"
        for run in range(args.repeat):
            night.name, night.served = "first", [i % len(pages) for i in range(args.sources)]
            figures.setdefault("floor (Scrapy + lxml)", []).append(measure([sys.executable, str(floor), str(urls)]))
            figures.setdefault(TUNED_FLOOR, []).append(
                measure([sys.executable, str(floor), str(urls)], {**os.environ, **allocator.ENVIRONMENT}))
            kept = work / f"keeper{run}.db"
            figures.setdefault("floor + pages kept, first night", []).append(
                measure([sys.executable, str(keeper), str(urls), str(kept)]))
            night.name = "unchanged"
            figures.setdefault("floor + pages kept, unchanged", []).append(
                measure([sys.executable, str(keeper), str(urls), str(kept)]))
            kept.unlink()
            night.name = "first"
            db = work / f"run{run}.db"
            write_declarations(declarations, server.base_url, night)
            figures.setdefault("policywatch, first night", []).append(
                measure(policywatch(db, declarations, "2026-03-01T02:00:00Z"), env))
            night.name = "unchanged"
            figures.setdefault("policywatch, unchanged night", []).append(
                measure(policywatch(db, declarations, "2026-03-02T02:00:00Z"), env))
            counts = outcome_counts(db)
            if counts != {"unchanged": args.sources}:
                raise SystemExit(f"the unchanged night recorded {counts}, not {args.sources} unchanged sources")
            if args.changed:
                night.name = "changed"
                step = max(1, round(1 / args.changed))
                night.served = [pages[s].successor if i % step == 0 else s for i, s in enumerate(night.served)]
                write_declarations(declarations, server.base_url, night)
                changed = measure(policywatch(db, declarations, "2026-03-03T02:00:00Z"), env)
                figures.setdefault(f"policywatch, night with {outcome_counts(db).get('changed', 0)} changed", []).append(
                    changed)
            if args.digest:
                digests.append(digest(db, work, env))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(db, args.keep / "bench.db")
                if (work / "site").is_dir():
                    shutil.copytree(work / "site", args.keep / "site", dirs_exist_ok=True)
            db.unlink()
            for extra in (work / "site",):
                shutil.rmtree(extra, ignore_errors=True)
    floors = [r.cpu for r in figures["floor (Scrapy + lxml)"]]
    print()
    print(f"{'':<34} {'CPU-s':>8} {'× floor':>8} {'peak MB':>8} {'faults':>8} {'kernel':>7}   × floor in each run (its own floor's)")
    for name, runs in figures.items():
        cpu = statistics.median(r.cpu for r in runs)
        mem = statistics.median(r.mem for r in runs)
        faults = statistics.median(r.faults for r in runs)
        system = statistics.median(r.system for r in runs)
        # The machine's speed drifts between runs: each run's figure is also set against the floor measured with it.
        ratios = [r.cpu / f for r, f in zip(runs, floors)]
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}" if len(ratios) > 1 else ""
        print(f"{name:<34} {cpu:>8.2f} {statistics.median(ratios):>8.2f} {mem:>8.0f} {faults / 1000:>7.0f}k {system:>7.2f}   {spread}")
    tuned = [r.cpu for r in figures[TUNED_FLOOR]]
    against = ", ".join(f"{name.removeprefix('policywatch, ')} {statistics.median(r.cpu / f for r, f in zip(runs, tuned)):.2f}×"
                        for name, runs in figures.items() if name.startswith("policywatch"))
    print(f"\nagainst the floor with policywatch's allocator thresholds: {against}")
    print("faults: minor page faults (thousands); kernel: CPU-s of it spent in the kernel")
    print(f"goals: first night ≤ 2× the floor, unchanged night ≤ 1.5×, peak memory < 250 MB")
    if digests:
        print(f"record digest: {', '.join(sorted({d[0] for d in digests}))}; "
              f"stored pages' digest: {', '.join(sorted({d[1] for d in digests}))}; "
              f"content keys' digest: {', '.join(sorted({d[2] for d in digests}))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
