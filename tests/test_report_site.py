"""The static report: built from a record made by real crawls of a local server, into real files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from ingest.claims_declarations import load_claims

from conftest import CLI, version_texts, write_declarations
from policywatch.localserver import LocalServer, Page
from reports.site import BuildStats, build_site
from storage.db import make_engine, session_factory

BASE = "https://watch.example.org/policywatch/"
FILLER = "".join(f"<p>Section {n}: this paragraph about topic {n} does not change between editions.</p>"
                 for n in range(1, 13))


def policy(retention: str, extra: str = "", sharing: str = "We do not sell personal data.") -> bytes:
    return (f"<html><body><nav>Menu</nav><main><h1>Testco Privacy Policy</h1>{FILLER}"
            f"<p>We keep chats for {retention}.</p>{extra}{FILLER}<p>{sharing}</p></main></body></html>").encode()


HELP = b"<html><body><main><h1>Help</h1><p>Export your data from the settings page.</p></main></body></html>"


class Vendor:
    """A record made by the real CLI: three days of crawls, one source failing from day 2."""

    def __init__(self, root: Path, server: LocalServer):
        self.root, self.server = root, server
        self.decl = write_declarations(root / "sources.yaml", server.base_url, [
            {"id": "t/policy", "title": "Privacy Policy", "urls": ["/policy"], "select": "main"},
            {"id": "t/help", "title": "Help: export", "document_type": "Help article", "urls": ["/help"],
             "select": "main"},
            {"id": "t/broken", "title": "Broken page", "urls": ["/broken"], "select": "main"},
        ])
        self.cli = CLI(root / "policywatch.db", self.decl, root)
        self.editions = {1: policy("30 days"), 2: policy("90 days", "<p>We may use your chats to train our models.</p>"),
                         3: policy("90 days", "<p>We may use your chats to train our models.</p>",
                                   "We share personal data with our affiliates.")}

    def crawl(self, day: int, db: Path | None = None) -> None:
        self.server.routes.clear()
        self.server.routes["/policy"] = Page(self.editions.get(day, self.editions[3]))
        self.server.routes["/help"] = Page(HELP)
        self.server.routes["/broken"] = Page(HELP) if day == 1 else Page(b"oops", status=500)
        cli = self.cli if db is None else CLI(db, self.decl, self.root)
        cli("crawl", "--now", f"2026-03-0{day}T06:00:00Z", check=False)


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vendor]:
    with LocalServer() as server:
        made = Vendor(tmp_path_factory.mktemp("vendor"), server)
        for day in (1, 2, 3):
            made.crawl(day)
        yield made


def build(db: Path, out: Path, full: bool = False, base_url: str | None = BASE, workers: int | None = None) -> BuildStats:
    engine = make_engine(f"sqlite:///{db}")
    try:
        return build_site(session_factory(engine), out, base_url, full=full, workers=workers)
    finally:
        engine.dispose()


def copy_db(src: Path, dst: Path) -> Path:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def query(db: Path, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.links.append((tag, value))
            if name == "id" and value:
                self.ids.add(value)


def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def files(out: Path) -> dict[str, tuple[int, int]]:
    """Every file of the site with its inode and size: an atomic rewrite gets a new inode. Pagefind's search
    index is left out: its file names and bytes differ from one indexing to the next."""
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_size)
            for p in out.rglob("*") if p.is_file() and p.name != ".policywatch-site.json"
            and not p.relative_to(out).as_posix().startswith("pagefind/")}


def test_every_internal_link_and_anchor_resolves(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(vendor.cli.db, out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 10
    # Claims name where they first appeared: declared addresses, like the sources' own.
    declared = {c.first_appearance.url for c in load_claims() if c.first_appearance is not None}
    for page in pages:
        parsed = parse(page)
        for tag, link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https"):
                assert link.startswith((vendor.server.base_url, BASE)) or link in declared, \
                    f"{page}: unexpected external link {link}"
                continue
            assert not parts.scheme, f"{page}: {link}"
            if not parts.path:
                assert parts.fragment in parsed.ids, f"{page}: anchor {link} has no target"
                continue
            target = (page.parent / parts.path).resolve()
            assert target.is_file(), f"{page}: {tag} {link} points at nothing"
            assert out.resolve() in target.parents, f"{page}: {link} leaves the site"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in parse(target).ids, f"{page}: {link}"


def test_index_lists_changes_and_sources_with_health(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    stats = build(vendor.cli.db, out)
    assert stats.index_path == out / "index.html"
    index = (out / "index.html").read_text(encoding="utf-8")
    latest = re.findall(r'<a href="changes/(\d+)\.html">([^<]+)</a>', index)
    assert [title for _, title in latest] == ["Testco — Privacy Policy: v2 → v3", "Testco — Privacy Policy: v1 → v2"]
    row = index[index.index("t/broken"):].split("</tr>")[0]
    assert 'failing since <time datetime="2026-03-02T06:00:00Z">' in row and "http_error" in row
    help_row = index[index.index("<code class=\"muted\">t/help</code>"):].split("</tr>")[0]
    assert "✓ ok" not in help_row and 'class="health-ok">ok<' in help_row
    assert '<time datetime="2026-03-03T06:00:00Z">' in help_row, "last checked"
    assert "Last run on the vendors' documents: #3 (crawl)" in index and "<strong>partial</strong>" in index


def test_change_page_shows_the_word_diff_both_ways_with_folds_and_navigation(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(vendor.cli.db, out)
    first, second = [cid for (cid,) in query(vendor.cli.db, "select id from changes order by id")]
    page = (out / f"changes/{first}.html").read_text(encoding="utf-8")
    inline = page[page.index('id="inline"'):]
    # Where the spaces around a changed word go is the diff's business; the marks are the report's.
    assert re.search(r"<del>30\s*</del><ins>90\s*</ins>", inline)
    assert re.search(r"<ins>\s*We may use your chats to train our models.\s*</ins>", inline)
    assert re.search(r'<details class="fold"[^>]*><summary>\d+ unchanged line\(s\)</summary>Section', inline)
    sbs = page[page.index('id="side-by-side"'):page.index('id="inline"')]
    assert re.search(r'<tr class="changed"><td class="no">\d+</td><td class="old">We keep chats for <del>30\s*</del>\s*days.</td>', sbs)
    assert '<tr class="fold"><td colspan="4">' in sbs
    assert f'href="{BASE}changes/{first}.html"' in page, "permalink under --base-url"
    assert f'href="../changes/{second}.html" rel="next"' in page and 'rel="prev"' not in page
    later = (out / f"changes/{second}.html").read_text(encoding="utf-8")
    assert f'href="../changes/{first}.html" rel="prev"' in later and 'rel="next"' not in later
    assert re.search(r"<del>(We )?do not sell( personal data.)?\s*</del>", later)


def test_version_page_shows_text_snapshot_metadata_and_the_raw_bytes(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(vendor.cli.db, out)
    (text_sha, snap_sha, url, status, fetched), = query(vendor.cli.db, """
        select v.sha256, s.blob_sha256, s.url, s.http_status, s.fetched_at from versions v
        join snapshots s on s.outcome_id = v.outcome_id where v.source_id = 't/policy' and v.number = 2""")
    page = (out / "versions/t/policy/2.html").read_text(encoding="utf-8")
    assert text_sha in page and snap_sha in page and f">{url}</a>" in page
    assert f"<dd>{status}</dd>" in page and '<time datetime="2026-03-02T06:00:00Z">' in page
    assert "We keep chats for 90 days." in page and "<h1>" in page
    download = re.search(r'<a href="([^"]+)" download="([^"]+)"', page)
    assert download and download.group(1) == f"../../../raw/{snap_sha}.txt"
    assert download.group(2) == "t-policy-v2.html"
    raw = (out / "raw" / f"{snap_sha}.txt").read_bytes()
    assert raw == vendor.editions[2] and hashlib.sha256(raw).hexdigest() == snap_sha
    assert 'rel="prev"' in page and 'rel="next"' in page


def test_runs_page_lists_every_failed_fetch(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(vendor.cli.db, out)
    runs = (out / "runs.html").read_text(encoding="utf-8")
    failed = query(vendor.cli.db, "select run_id, failure_kind, detail from fetch_outcomes where outcome='failed'")
    assert len(failed) == 2
    for run_id, kind, detail in failed:
        section = runs[runs.index(f'id="run-{run_id}"'):].split("</section>")[0]
        assert "t/broken" in section and f"<td>{kind}</td>" in section
        assert detail.replace('"', "&#34;") in section


def test_compare_form_loads_the_source_texts_as_a_script(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(vendor.cli.db, out)
    source = (out / "sources/t/policy/index.html").read_text(encoding="utf-8")
    assert 'data-texts="../../../versions/t/policy/_texts.js"' in source
    assert '<script src="../../../static/compare.js"></script>' in source
    # Without script the form could only reload the page: it is hidden until compare.js shows it.
    assert re.search(r'<form class="compare" [^>]*\bhidden\b', source)
    script = (out / "versions/t/policy/_texts.js").read_text(encoding="utf-8")
    assert script.startswith("policywatchVersions(") and script.endswith(");\n") and "<" not in script
    texts = {number: t for (_, number), t in version_texts(vendor.cli.db, "t/policy").items()}
    assert json.loads(script[len("policywatchVersions("):-3]) == {str(n): t for n, t in texts.items()}


def test_rebuild_rewrites_nothing_and_a_new_crawl_rewrites_only_what_it_affects(vendor: Vendor, tmp_path: Path) -> None:
    db = copy_db(vendor.cli.db, tmp_path / "copy.db")
    out = tmp_path / "site"
    first = build(db, out)
    assert first.pages_skipped == 0 and first.pages_written > 20
    before = files(out)
    again = build(db, out)
    assert again.pages_written == 0 and again.pages_skipped == first.pages_written
    assert files(out) == before

    vendor.editions[4] = policy("90 days", "<p>We may use your chats to train our models.</p>",
                                "We share personal data with our affiliates and partners.")
    try:
        vendor.crawl(4, db)
    finally:
        del vendor.editions[4]
    (new_change,), = query(db, "select max(id) from changes")
    (old_change,), = query(db, "select id from changes where source_id='t/policy' and id < ? order by id desc limit 1",
                           new_change)
    (snap,), = query(db, "select s.blob_sha256 from versions v join snapshots s on s.outcome_id=v.outcome_id "
                         "where v.source_id='t/policy' and v.number=4")
    (flags,), = query(db, "select flags from changes where id = ?", new_change)
    flagged = {"feeds/flagged.atom", "feeds/flagged.rss"} if json.loads(flags) else set()
    stats = build(db, out)
    after = files(out)
    # The published export is written again whole when anything was recorded.
    rewritten = {p for p, ident in after.items() if before.get(p) != ident and not p.startswith("data/")}
    assert rewritten == flagged | {
        "index.html", "runs.html", "sources/t/policy/index.html", f"changes/{new_change}.html",
        "changes.html", "vendors/testco.html",  # the latest changes of every kind; the vendor's month grid
        f"changes/{old_change}.html",  # gains its "next change" link
        "versions/t/policy/4.html", "versions/t/policy/_texts.js", "versions/t/policy/3.html",  # v3 gains "next"
        "versions/t/policy/4.md", f"raw/{snap}.txt", "ledger.jsonl",  # the new version's entry
        "feeds/changes.atom", "feeds/changes.rss", "feeds/sources/t/policy.atom", "feeds/sources/t/policy.rss",
        # Checked again: their pages and their current versions' pages show the new last check.
        "sources/t/help/index.html", "versions/t/help/1.html", "sources/t/broken/index.html", "versions/t/broken/1.html",
    }, "of t/help and t/broken (failing since day 2 with the same error) only the as-of dates change"
    assert stats.pages_written == len(rewritten)

    full = tmp_path / "full"
    build(db, full, full=True)
    for path in after:
        assert (out / path).read_bytes() == (full / path).read_bytes(), f"{path}: incremental differs from --full"


def test_a_night_with_nothing_new_rewrites_only_the_as_of_dates_and_leaves_the_search_index(
        vendor: Vendor, tmp_path: Path) -> None:
    db = copy_db(vendor.cli.db, tmp_path / "copy.db")
    out = tmp_path / "site"
    build(db, out)
    before = files(out)
    page = (out / "versions/t/help/1.html").read_text(encoding="utf-8")
    assert "last checked <time datetime=\"2026-03-03T06:00:00Z\">" in page
    vendor.crawl(4, db)  # every text as it was; t/broken fails again
    stats = build(db, out)
    after = files(out)
    rewritten = {p for p, ident in after.items() if before.get(p) != ident and not p.startswith("data/")}
    (policy_top,), = query(db, "select max(number) from versions where source_id='t/policy'")
    assert rewritten == {"index.html", "runs.html", "sources/t/policy/index.html", "sources/t/help/index.html",
                         "sources/t/broken/index.html", f"versions/t/policy/{policy_top}.html",
                         "versions/t/help/1.html", "versions/t/broken/1.html",
                         "vendors/testco.html"} | {  # its month grid counts t/broken's failed check
        p for p in after.keys() - before.keys() if p.startswith("raw/")}  # the night's pages, if their bytes are new
    assert "search index: up to date" in stats.notes, "only as-of dates changed: nothing new to index"
    page = (out / "versions/t/help/1.html").read_text(encoding="utf-8")
    assert "Last confirmed</dt><dd><time datetime=\"2026-03-04T06:00:00Z\">2026-03-04T06:00:00Z</time>" in page
    assert "confirmed by 4 fetches from <time datetime=\"2026-03-01T06:00:00Z\">" in page
    broken = (out / "versions/t/broken/1.html").read_text(encoding="utf-8")
    # A failed check is a check, not a confirmation.
    assert "<strong>current</strong> (last checked <time datetime=\"2026-03-04T06:00:00Z\">" in broken
    assert "Last confirmed</dt><dd><time datetime=\"2026-03-01T06:00:00Z\">" in broken

    full = tmp_path / "full"
    build(db, full, full=True)
    for path in after:
        assert (out / path).read_bytes() == (full / path).read_bytes(), f"{path}: incremental differs from --full"


def test_full_rebuild_writes_every_page_again_and_verifies_raw_snapshots(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = build(vendor.cli.db, out)
    before = files(out)
    raw = sorted(p for p in before if p.startswith("raw/"))
    assert raw
    damaged = out / raw[0]
    damaged.write_bytes(b"not the snapshot")
    before = files(out)
    full = build(vendor.cli.db, out, full=True)
    after = files(out)
    # The intact raw snapshots are kept (verified by their hash); everything else is written again.
    assert full.pages_skipped == len(raw) - 1 and full.pages_written == first.pages_written - len(raw) + 1
    assert all(after[p][0] != before[p][0] for p in before if not p.startswith("raw/"))
    assert all(after[p] == before[p] for p in raw[1:]), "intact snapshots are checked, not rewritten"
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == Path(raw[0]).stem


def test_several_processes_write_the_same_site(vendor: Vendor, tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    one = build(vendor.cli.db, serial, workers=1)
    two = build(vendor.cli.db, parallel, workers=2)
    # Two workers may both write a raw snapshot that two sources share (same bytes, same name).
    assert one.pages_written <= two.pages_written <= one.pages_written + len(list((serial / "raw").iterdir()))
    assert sorted(files(serial)) == sorted(files(parallel))
    for path in files(serial):
        assert (serial / path).read_bytes() == (parallel / path).read_bytes(), path
    manifest = [json.loads((d / ".policywatch-site.json").read_text()) for d in (serial, parallel)]
    assert manifest[0] == manifest[1]
    assert build(vendor.cli.db, parallel).pages_written == 0


def test_without_base_url_links_point_at_the_output_directory(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    stats = build(vendor.cli.db, out, base_url=None)
    assert not stats.base_url_given and stats.base_url == out.resolve().as_uri() + "/"
    assert f'href="{out.resolve().as_uri()}/changes/' in (out / "changes/1.html").read_text(encoding="utf-8")


def test_report_and_serve_commands(vendor: Vendor, tmp_path: Path) -> None:
    out = tmp_path / "site"
    done = vendor.cli("report", "--out", str(out))
    assert f"report: {out.resolve() / 'index.html'}" in done.stdout
    assert "--base-url was not given" in done.stdout
    bad = vendor.cli("report", "--out", str(out), "--base-url", "javascript:alert(1)", check=False)
    assert bad.returncode == 2 and "--base-url" in bad.stderr
    (raw,) = [p.name for p in (out / "raw").iterdir()][:1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    serve = subprocess.Popen([sys.executable, "-m", "policywatch", "--db", str(vendor.cli.db), "serve", "--out", str(out),
                              "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group() + "index.html", timeout=10) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b"Testco" in response.read()
        with urllib.request.urlopen(url.group() + f"raw/{raw}", timeout=10) as response:
            assert response.headers["Content-Type"] == "text/plain"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Disposition"] == "attachment"
        with urllib.request.urlopen(url.group() + "feeds/changes.atom", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/atom+xml"
        markdown = next(p for p in (out / "versions").rglob("*.md")).relative_to(out).as_posix()
        with urllib.request.urlopen(url.group() + markdown, timeout=10) as response:
            assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    missing = vendor.cli("serve", "--out", str(tmp_path / "nothing"), check=False)
    assert missing.returncode == 2 and "run `policywatch report" in missing.stderr
