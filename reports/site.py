"""Building the static site and its feeds from the record, incrementally.

One pass over the sources writes, for each, the version, change and source
pages and the feeds whose inputs changed (texts are read only for those);
then come the site-wide feeds, the press coverage pages and feed, the index,
the page of all latest changes, the runs page and the vendor pages. `full=True`
ignores what earlier builds left and writes everything again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import UserInputError
from reports import pages, urls
from reports.coverage import write_coverage
from reports.claims_site import load_claims_site, with_claim_marks, write_claims
from reports.data import load_record, stored_text_digests
from reports.feedfiles import Excerpts, write_health_feed, write_site_feeds
from reports.ledgerfiles import write_ledger, write_left_out
from reports.news_data import load_coverage
from storage.health import FAILING_AFTER_RUNS, health_events
from storage.notify_record import undelivered
from reports.output import SiteWriter
from reports.parallel import default_workers, write_sources_in_parallel
from reports.export.archive import ExportError, write_export
from reports.export.tables import TABLES
from reports.render import STATIC, code_fingerprint, render
from reports.search import INDEX_DIR, build_index, pagefind_problem
from reports.sourcefiles import write_raw, write_source
from storage.db import reading

STATIC_FILES = ("site.css", "compare.js", "coverage.js", "claims.js", "search.js", "changes.js", "favicon.svg")
# The pages the search index holds: it is built again only when one of them was written or removed.
INDEXED_PAGES = ("versions/", "changes/", "claims/")


class SiteError(UserInputError):
    """The site cannot be written where it was asked to be."""


@dataclass(frozen=True)
class BuildStats:
    pages_written: int
    pages_skipped: int
    seconds: float
    index_path: Path
    base_url: str
    base_url_given: bool  # False: feeds link to a file:// URL of the output directory
    files_removed: int = 0
    problems: tuple[str, ...] = ()  # what could not be written, e.g. a damaged raw snapshot
    notes: tuple[str, ...] = ()  # what became of the search index and the published export
    search_seconds: float = 0.0  # of `seconds`, building the search index


def _static(writer: SiteWriter) -> None:
    for name in STATIC_FILES:
        data = (STATIC / name).read_bytes()
        writer.produce(urls.static_file(name), writer.key("static", data.decode("utf-8")), lambda: data)


def _shared_db_url(factory: sessionmaker[Session]) -> str | None:
    """A URL other processes can open, or None (an in-memory database, an unbound factory)."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    if bind.dialect.name == "sqlite" and bind.url.database in (None, "", ":memory:"):
        return None
    return bind.url.render_as_string(hide_password=False)


def build_site(factory: sessionmaker[Session], out: Path, base_url: str | None = None,
               full: bool = False, workers: int | None = None, failing_after: int = FAILING_AFTER_RUNS,
               signing_key: Path | None = None) -> BuildStats:
    """Render the site into `out`; only what changed since the last build unless `full`.

    `workers`: processes for the per-source files (default: one per core, up
    to four, when a record of 100 sources or more is written from scratch).
    `signing_key`: an OpenSSH private key that signs the published ledger.
    They are started with multiprocessing's spawn method, so a script that
    calls this must guard its entry point with `if __name__ == "__main__":`.
    """
    started = perf_counter()
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SiteError(f"--out {out}: cannot create the directory: {exc.strerror}") from None
    base = urls.normalise_base_url(base_url) if base_url else out.resolve().as_uri() + "/"
    writer = SiteWriter(out, code_fingerprint() + base, full)
    # One read snapshot: a crawl recording meanwhile is seen whole or not at all.
    with reading(factory) as session:
        record = load_record(session, failing_after=failing_after)
        claims = load_claims_site(session, record, failing_after)
        record = with_claim_marks(record, claims)
        excerpts = Excerpts(session)
        _static(writer)
        count = workers if workers is not None else default_workers(len(record.sources), writer.everything_stale)
        db_url = _shared_db_url(factory)
        stored = stored_text_digests(session)
        if count > 1 and db_url is not None:
            write_sources_in_parallel(writer, db_url, record.sources, base, count, stored)
        else:
            for source in record.sources:
                write_source(session, writer, source, base, excerpts, stored.get(source.id, {}))
        write_site_feeds(writer, record.sources, record.changes, base, excerpts, record.began)
        coverage = load_coverage(session)
        write_claims(session, writer, record, claims, base, [m for a in coverage for m in a.mentions])
        write_health_feed(writer, record.sources, health_events(session, failing_after), base, record.began)
        write_coverage(writer, coverage, base, {item.claim.id: item.claim.statement["en"] for item in claims.items},
                       record.began)
        for sha in pages.refused_pages(record):
            write_raw(session, writer, sha)
        head = write_ledger(session, writer, signing_key)
        data, data_note = _publish_export(factory, out, full, writer)
        write_left_out(writer, {(s.id, v.number): v.sha256 for s in record.sources for v in s.versions})
        problem = pagefind_problem()
        searchable = problem is None or (out / INDEX_DIR / "pagefind.js").is_file()
        for page in (pages.index_page(record, data, head), pages.all_changes_page(record),
                     pages.runs_page(record, undelivered(session)), pages.search_page(searchable, problem or ""),
                     *pages.vendor_pages(record)):
            writer.produce(page.path, writer.key(page.template, page.context),
                           lambda page=page: render(page.template, **page.context))  # type: ignore[misc]
    removed = writer.finish()
    indexed = [p for p in [*(writer.written_paths - writer.unindexed_rewrites), *removed]
               if p.startswith(INDEXED_PAGES) and p.endswith(".html")]
    search = build_index(out, writer.everything_stale or bool(indexed))
    return BuildStats(writer.written, writer.skipped, perf_counter() - started, out / urls.index_page(), base,
                      bool(base_url), len(removed), tuple(writer.problems), (search.note, data_note), search.seconds)


def _publish_export(factory: sessionmaker[Session], out: Path, full: bool,
                    writer: SiteWriter) -> tuple[pages.DataLink | None, str]:
    """The latest export of the record in `data/`, for the index to link to; a damaged version text is left
    out of it (null), as it is left out of its page, and named once."""
    damaged: list[tuple[str, int, str]] = []
    try:
        result = write_export(factory, out / urls.data_dir(), "jsonl", only_latest=True, force=full,
                              damaged=damaged)
    except ExportError as exc:
        return None, f"data export: not published: {exc}"
    for source_id, number, detail in damaged:
        if (source_id, number) not in writer.damaged_texts:
            writer.text_damaged(source_id, number, detail)
    link = pages.DataLink(f"{urls.data_dir()}/{result.path.name}", result.path.name, result.size, result.dated,
                          tuple(table.name for table in TABLES))
    return link, f"data export: {link.href} ({'written' if result.written else 'up to date'})"
