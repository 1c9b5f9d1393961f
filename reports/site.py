"""Building the static site and its feeds from the record, incrementally.

One pass over the sources: for each, the version, change and source pages
whose inputs changed are written (texts are read only for those), then the
feeds, the index and the runs page. `full=True` ignores what earlier builds
left and writes everything again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from sqlalchemy.orm import Session, sessionmaker

from analysis.diff import Diff, diff_texts
from reports import feeds, pages, urls
from reports.data import ChangeInfo, Record, SourceInfo, load_record, load_texts
from reports.excerpt import Sentence, important_sentences
from reports.output import SiteWriter
from reports.render import STATIC, code_fingerprint, render
from storage import blobs

STATIC_FILES = ("site.css", "compare.js")


@dataclass(frozen=True)
class BuildStats:
    pages_written: int
    pages_skipped: int
    seconds: float
    index_path: Path
    base_url: str
    base_url_given: bool  # False: feeds link to a file:// URL of the output directory
    files_removed: int = 0


class Excerpts:
    """The changed sentences each feed entry quotes, computed once per build."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, list[Sentence]] = {}

    def remember(self, change: ChangeInfo, diff: Diff) -> None:
        self.cache[change.id] = important_sentences(diff, _cited(change))

    def get(self, change: ChangeInfo) -> list[Sentence]:
        if change.id not in self.cache:
            texts = load_texts(self.session, change.source_id, (change.from_number, change.to_number))
            self.remember(change, diff_texts(texts[change.from_number], texts[change.to_number]))
        return self.cache[change.id]


def _cited(change: ChangeInfo) -> list[str]:
    return [e["sentence"] for e in change.evidence if isinstance(e.get("sentence"), str)]


def texts_script(texts: dict[int, str]) -> str:
    """A source's version texts as a script for the compare form; `<`, `>`, `&` are escaped so no markup survives."""
    data = json.dumps({str(n): texts[n] for n in sorted(texts)}, ensure_ascii=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"policywatchVersions({data});\n"


def _static(writer: SiteWriter) -> None:
    for name in STATIC_FILES:
        data = (STATIC / name).read_bytes()
        writer.produce(urls.static_file(name), writer.key("static", data.decode("utf-8")), lambda: data)


def _raw_snapshots(session: Session, writer: SiteWriter, source: SourceInfo) -> None:
    # Content-addressed: a file that exists holds exactly these bytes (its
    # name is their sha256), so it is written once, or again with --full.
    for version in source.versions:
        for snap in version.snapshots:
            path = urls.raw_snapshot(snap.sha256)
            if path not in writer.written_paths and (writer.full or not writer.exists(path)):
                writer.write(path, blobs.read(session, snap.sha256))


def _source_pages(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str,
                  excerpts: Excerpts) -> None:
    stale: list[tuple[pages.Page, str]] = []
    for page in pages.version_pages(source) + pages.change_pages(source, base_url):
        key = writer.key(page.template, page.context)
        if writer.fresh(page.path, key):
            writer.keep(page.path, key)
        else:
            stale.append((page, key))
    script_path = urls.version_texts(source.id)
    script_key = writer.key("texts", [(v.number, v.sha256) for v in source.versions])
    script_stale = bool(source.versions) and not writer.fresh(script_path, script_key)
    if source.versions and not script_stale:
        writer.keep(script_path, script_key)
    needed = {n for page, _ in stale for n in page.texts}
    texts = load_texts(session, source.id, None if script_stale else needed) if needed or script_stale else {}
    for page, key in stale:
        diff = None
        if page.kind == "change":
            diff = pages.change_diff(page, texts)
            excerpts.remember(page.context["change"], diff)
        writer.write(page.path, render(page.template, **pages.text_context(page, texts, diff)))
        writer.current[page.path] = key
    if script_stale:
        writer.write(script_path, texts_script(texts))
        writer.current[script_path] = script_key
    _raw_snapshots(session, writer, source)
    page = pages.source_page(source)
    writer.produce(page.path, writer.key(page.template, page.context), lambda: render(page.template, **page.context))


def _entry(change: ChangeInfo, source: SourceInfo, base_url: str, excerpts: Excerpts,
           with_severity: bool) -> feeds.Entry:
    link = base_url + urls.change_page(change.id)
    content = render("feed_entry.html", change=change, summary=change.summary, source_title=source.title,
                     sentences=excerpts.get(change), link=link)
    return feeds.Entry(urls.change_tag(source.id, change.to_number),
                       feeds.entry_title(change, source.vendor, source.title, with_severity), link,
                       change.detected_at, content, change.flags)


def _write_feed(writer: SiteWriter, stem: str, page_path: str, base_url: str, tag: str, title: str,
                subtitle: str, entries: list[tuple[ChangeInfo, SourceInfo]], excerpts: Excerpts,
                with_severity: bool = False) -> None:
    chosen = sorted(entries, key=lambda e: (e[0].detected_at, e[0].id), reverse=True)[:feeds.MAX_ENTRIES]
    # The key names every input of the feed's bytes: the entries' metadata
    # (their texts are fixed by the sha256s in it) and the labels around them.
    key = writer.key("feed", stem, title, subtitle, with_severity,
                     [(c, s.id, s.vendor, s.title) for c, s in chosen])
    paths = {fmt: f"feeds/{stem}.{fmt}" for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(tag, title, subtitle, base_url + page_path,
                          {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_entry(c, s, base_url, excerpts, with_severity) for c, s in chosen))
    for fmt, path in paths.items():
        writer.write(path, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.current[path] = key


def _feeds(writer: SiteWriter, record: Record, base_url: str, excerpts: Excerpts) -> None:
    sources = {s.id: s for s in record.sources}
    announced = [(c, sources[c.source_id]) for c in record.changes if c.announced]
    _write_feed(writer, "changes", urls.index_page(), base_url, urls.feed_tag("changes"),
                "policywatch: changes in what vendors say about user data",
                "Every change in wording of the tracked documents (formatting-only, reverts and technical "
                "re-extractions left out).", announced, excerpts)
    _write_feed(writer, "flagged", urls.index_page(), base_url, urls.feed_tag("flagged"),
                "policywatch: flagged changes",
                "Changes whose wording touches retention, training, sharing, controls, sensitive data or legal "
                "terms.", [(c, s) for c, s in announced if c.flagged], excerpts, with_severity=True)
    for source in record.sources:
        stem = urls.source_feed(source.id, "atom")[len("feeds/"):-len(".atom")]
        _write_feed(writer, stem, urls.source_page(source.id), base_url, urls.feed_tag(f"source/{source.id}"),
                    f"policywatch: {source.vendor} — {source.title}",
                    f"Changes in {source.vendor} — {source.title} ({source.id}).",
                    [(c, source) for c in source.changes if c.announced], excerpts)


def build_site(factory: sessionmaker[Session], out: Path, base_url: str | None = None,
               full: bool = False) -> BuildStats:
    """Render the site into `out`; only what changed since the last build unless `full`."""
    started = perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = urls.normalise_base_url(base_url) if base_url else out.resolve().as_uri() + "/"
    writer = SiteWriter(out, code_fingerprint() + base, full)
    with factory() as session:
        record = load_record(session)
        excerpts = Excerpts(session)
        _static(writer)
        for source in record.sources:
            _source_pages(session, writer, source, base, excerpts)
        _feeds(writer, record, base, excerpts)
        for page in (pages.index_page(record), pages.runs_page(record)):
            writer.produce(page.path, writer.key(page.template, page.context),
                           lambda page=page: render(page.template, **page.context))  # type: ignore[misc]
    removed = writer.finish()
    return BuildStats(writer.written, writer.skipped, perf_counter() - started, out / urls.index_page(), base,
                      bool(base_url), len(removed))
