"""What each page shows: its path, its template and the record data in it.

A page's context holds metadata only; the version texts a page also shows
are named by their sha256 in that metadata and added just before rendering
(`text_context`). So a hash of the context alone tells whether a page must be
rewritten, and the build reads a text only for a page it actually writes.
What changes every night for every source (the last check, the current
version's last confirmation) is shown on two pages per source only, the
source page and the current version's page, and is named in `Page.live`: a
rewrite for those parts alone leaves every other page, and the search index,
as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any, Sequence

from markupsafe import Markup

from analysis.diff import count_words
from analysis.moves import MovedDiff, diff_with_moves
from analysis.vocabulary import ChangeKind, Severity
from reports import urls
from reports.pictures import GRID_MONTHS, index_strips, latest, months_ending, source_strip, vendor_grids, vendor_rows
from reports.timeline import Strip
from reports.claim_links import change_links, version_links
from reports.data import ChangeInfo, Confirmation, Health, Record, SnapshotInfo, SourceInfo, VersionInfo
from reports.policytext import render_markdown
from reports.diffview import inline_view, side_by_side
from reports.evidence_groups import SHOWN, evidence_items, group_evidence
from reports.ledgerfiles import LedgerHead
from reports.notify.dispatch import MAX_ATTEMPTS
from storage.models import SourceFields
from storage.notify_record import UndeliveredInfo
from storage.queries import SourceOrigins
from storage.vocabulary import CHECKING_RUN_KINDS, RunKind

# The index lists the latest INDEX_CHANGES announced changes, and, behind a switch, whatever else is among
# the latest INDEX_CHANGES changes of any kind; changes.html lists the latest ALL_CHANGES of any kind.
INDEX_CHANGES = 50
ALL_CHANGES = 200
# The latest fetches that confirmed a version's text, listed with their raw pages on its page; the first
# fetch is its own snapshot. A version confirmed every night for years still lists this many, with the count.
CONFIRMATIONS_SHOWN = 3
CONTENT_TYPE_SUFFIX = {"text/markdown": ".md", "text/plain": ".txt", "application/xhtml+xml": ".xhtml"}


@dataclass(frozen=True)
class Page:
    path: str
    template: str
    context: dict[str, Any]
    # Version numbers whose texts the page shows (their sha256s are in the context).
    texts: tuple[int, ...] = ()
    kind: str = "plain"  # plain | version | change
    # Context entries shown outside the search index (as-of dates): a rewrite for them alone is no new text.
    live: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceLabel:
    id: str
    vendor: str
    title: str
    language: str
    document_type: str = ""


@dataclass(frozen=True, kw_only=True)
class SourceHeader(SourceFields):
    health: Health


@dataclass(frozen=True)
class IndexRow:
    """What the index shows of a source: a row's worth, not its whole history."""

    id: str
    vendor: str
    title: str
    document_type: str
    language: str
    origins: SourceOrigins  # its last check by a crawl, and what was imported
    last_changed: datetime | None
    versions: int
    health: Health
    href: str
    strip: Strip | None = None
    vendor_href: str = ""


@dataclass(frozen=True)
class ChangeLink:
    change: ChangeInfo
    source_id: str
    vendor: str
    title: str
    href: str
    reverts_href: str | None = None  # for a revert, the version it went back to


@dataclass(frozen=True)
class AsOf:
    """When a version's text was in force, as far as the record proves it."""

    first_seen: datetime
    last_confirmed: datetime
    confirmations: int  # fetches that found the text, its first included
    imported: int = 0  # of those, imported files (`policywatch import`): no fetch of ours
    until: datetime | None = None  # the next version's first seen; None while it is the current text
    next_number: int | None = None
    # Shown with the current version: the source's last check by a crawl, and how far its imported files
    # reach, when an import is its latest record (a saved file's date is no check).
    last_checked: datetime | None = None
    imported_from: datetime | None = None
    imported_until: datetime | None = None
    # Re-derived by `reextract`: its first "confirmation" is that re-derivation, no fetch; `derived_from` is when
    # the page it was read from was fetched (or the imported file's date), `derived_from_file` whether imported.
    derived_from: datetime | None = None
    derived_from_file: bool = False

    @property
    def current(self) -> bool:
        return self.until is None

    @property
    def rederived(self) -> bool:
        return self.derived_from is not None

    @property
    def found_by(self) -> int:
        """The fetches and imported files that found the text: a re-derivation is neither."""
        return self.confirmations - (1 if self.rederived else 0)


def as_of(source: SourceInfo, position: int) -> AsOf:
    """The as-of dates of `source.versions[position]`."""
    version = source.versions[position]
    later = source.versions[position + 1] if position + 1 < len(source.versions) else None
    confirmed = version.last_confirmed or version.first_seen
    derived = version.rederived and bool(version.snapshots)
    derived_from = max(s.fetched_at for s in version.snapshots) if derived else None
    from_file = derived and all(s.http_status is None for s in version.snapshots)
    if later is not None:
        return AsOf(version.first_seen, confirmed, version.confirmations, version.imported_confirmations,
                    later.first_seen, later.number, derived_from=derived_from, derived_from_file=from_file)
    origins = source.origins
    imported = (origins.imported_from, origins.imported_until) if origins.imported_after_crawl else (None, None)
    return AsOf(version.first_seen, confirmed, version.confirmations, version.imported_confirmations,
                last_checked=origins.last_crawled, imported_from=imported[0], imported_until=imported[1],
                derived_from=derived_from, derived_from_file=from_file)


@dataclass(frozen=True)
class TimelineRow:
    number: int
    first_seen: datetime
    chars: int
    href: str
    change: ChangeInfo | None
    change_href: str | None
    reverts_href: str | None = None
    as_of: AsOf | None = None


@dataclass(frozen=True)
class SnapshotLink:
    info: SnapshotInfo
    href: str
    download_name: str


def label(source: SourceInfo) -> SourceLabel:
    return SourceLabel(source.id, source.vendor, source.title, source.language, source.document_type)


def _base(path: str, alternates: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {"root": urls.root_of(path), "alternates": list(alternates)}


def _alternate(page: str, target: str, title: str, fmt: str) -> dict[str, str]:
    kind = "application/atom+xml" if fmt == "atom" else "application/rss+xml"
    return {"href": urls.relative(page, target), "title": title, "type": kind}


@dataclass(frozen=True)
class DataLink:
    """The published export (reports.export): where it is and what it is."""

    href: str
    name: str
    size: int
    dated: datetime
    tables: tuple[str, ...] = ()  # the files it holds, one JSON-lines file per table


def _reverts_href(page: str, source_id: str, change: ChangeInfo) -> str | None:
    if change.reverts_to is None:
        return None
    return urls.relative(page, urls.version_page(source_id, change.reverts_to))


def _change_links(page: str, record: Record, changes: Sequence[ChangeInfo]) -> list[ChangeLink]:
    sources = {s.id: s for s in record.sources}
    return [ChangeLink(c, c.source_id, sources[c.source_id].vendor, sources[c.source_id].title,
                       urls.relative(page, urls.change_page(c.id)), _reverts_href(page, c.source_id, c))
            for c in changes]


def filter_choices(changes: Sequence[ChangeInfo], vendors: Sequence[str] = ()) -> dict[str, list[str]]:
    """The values each filter of a list of changes offers: those its changes have, in a fixed order."""
    severities = {c.severity for c in changes}
    kinds = {c.kind for c in changes}
    choices = {"vendor": sorted(set(vendors), key=str.lower)} if vendors else {}
    return choices | {
        "flag": sorted({f for c in changes for f in c.flags}),
        "severity": [s.value for s in Severity if s.value in severities],
        "kind": [k.value for k in ChangeKind if k.value in kinds] + sorted(kinds - {k.value for k in ChangeKind}),
    }


def index_changes(changes: Sequence[ChangeInfo], limit: int = INDEX_CHANGES) -> list[ChangeInfo]:
    """The latest `limit` announced changes, with every other change among the latest `limit`, newest first."""
    chosen = {c.id for c in [c for c in changes if c.announced][:limit]} | {c.id for c in changes[:limit]}
    return [c for c in changes if c.id in chosen]


def index_page(record: Record, data: DataLink | None = None, ledger: LedgerHead | None = None) -> Page:
    path = urls.index_page()
    listed = index_changes(record.changes)
    changes = _change_links(path, record, listed)
    strips = index_strips(record.sources, path)
    rows = [IndexRow(s.id, s.vendor, s.title, s.document_type, s.language, s.origins, s.last_changed,
                     len(s.versions), s.health, urls.relative(path, urls.source_page(s.id)), strips.get(s.id),
                     urls.relative(path, urls.vendor_page(s.vendor))) for s in record.sources]
    totals = {"sources": len(record.sources), "versions": sum(len(s.versions) for s in record.sources),
              "changes": len(record.changes), "announced": sum(1 for c in record.changes if c.announced)}
    last = latest(record.sources)
    months = months_ending(last, GRID_MONTHS) if last else ()
    alternates = [_alternate(path, urls.feed("changes", "atom"), "All changes (Atom)", "atom"),
                  _alternate(path, urls.feed("changes", "rss"), "All changes (RSS)", "rss"),
                  _alternate(path, urls.feed("flagged", "atom"), "Flagged changes (Atom)", "atom")]
    context = _base(path, alternates) | {
        "changes": changes, "limit": INDEX_CHANGES, "sources": rows,
        "choices": filter_choices(listed, [c.vendor for c in changes]),
        "shown_announced": sum(1 for c in listed if c.announced), "all_changes_href": urls.all_changes_page(),
        "all_limit": ALL_CHANGES, "months": months, "vendors": vendor_rows(record.sources, path, months),
        "totals": totals, "last_run": next((r for r in record.runs  # the vendors' documents: a news run counts articles
                                           if r.kind in CHECKING_RUN_KINDS and r.kind != RunKind.NEWS), None),
        "data": data, "ledger": ledger,
    }
    return Page(path, "index.html", context)


def all_changes_page(record: Record) -> Page:
    """The latest `ALL_CHANGES` changes of every kind: what the index's switch shows, without a script."""
    path = urls.all_changes_page()
    listed = list(record.changes[:ALL_CHANGES])
    changes = _change_links(path, record, listed)
    context = _base(path) | {"changes": changes, "limit": ALL_CHANGES, "total": len(record.changes),
                             "choices": filter_choices(listed, [c.vendor for c in changes])}
    return Page(path, "changes.html", context)


def vendor_pages(record: Record) -> list[Page]:
    """One page per vendor: how often and how severely each of its documents changed, month by month."""
    pages = []
    for grid in vendor_grids(record.sources):
        context = _base(grid.path) | {"grid": grid}
        pages.append(Page(grid.path, "vendor.html", context))
    return pages


SEARCH_FILTERS = (("vendor", "Vendor"), ("document", "Document type"), ("language", "Language"), ("flag", "Flag"),
                  ("page", "Versions, changes or claims"))


def search_page(available: bool, note: str) -> Page:
    path = urls.search_page()
    return Page(path, "search.html", _base(path) | {"filters": SEARCH_FILTERS, "available": available, "note": note})


def runs_page(record: Record, undelivered: Sequence[UndeliveredInfo] = ()) -> Page:
    """`undelivered`: notifications not delivered (storage.notify_record.undelivered)."""
    path = urls.runs_page()
    hrefs = {s.id: urls.relative(path, urls.source_page(s.id)) for s in record.sources}
    raw = {}
    for run in record.runs:
        for held in run.held:
            hrefs.setdefault(held.source_id, urls.relative(path, urls.source_page(held.source_id)))
        for failure in run.failed:
            target = urls.coverage_page() if failure.news else urls.source_page(failure.source_id)
            hrefs.setdefault(failure.source_id, urls.relative(path, target))
            raw.update({sha: urls.relative(path, urls.raw_snapshot(sha)) for sha in failure.refused_pages})
    return Page(path, "runs.html", _base(path) | {"runs": list(record.runs), "source_hrefs": hrefs, "raw_hrefs": raw,
                                                  "undelivered": list(undelivered), "max_attempts": MAX_ATTEMPTS})


def refused_pages(record: Record) -> list[str]:
    """The sha256 of every page kept with a failed fetch that the runs page lists."""
    return sorted({sha for run in record.runs for failure in run.failed for sha in failure.refused_pages})


def source_page(source: SourceInfo) -> Page:
    path = urls.source_page(source.id)
    by_to = {c.to_number: c for c in source.changes}
    timeline = [TimelineRow(v.number, v.first_seen, v.chars, urls.relative(path, urls.version_page(source.id, v.number)),
                            by_to.get(v.number),
                            urls.relative(path, urls.change_page(by_to[v.number].id)) if v.number in by_to else None,
                            _reverts_href(path, source.id, by_to[v.number]) if v.number in by_to else None,
                            as_of(source, position))
                for position, v in reversed(list(enumerate(source.versions)))]
    texts_script = urls.relative(path, urls.version_texts(source.id))
    feeds = {fmt: urls.relative(path, urls.source_feed(source.id, fmt)) for fmt in ("atom", "rss")}
    alternates = [_alternate(path, urls.source_feed(source.id, "atom"), f"{source.title} (Atom)", "atom"),
                  _alternate(path, urls.source_feed(source.id, "rss"), f"{source.title} (RSS)", "rss")]
    header = SourceHeader(**{f.name: getattr(source, f.name) for f in fields(SourceFields)}, health=source.health)
    numbers = [v.number for v in source.versions]
    context = _base(path, alternates) | {
        "source": header, "timeline": timeline, "feeds": feeds, "texts_script": texts_script,
        "pending": source.pending, "last_checked": source.last_checked, "origins": source.origins,
        "strip": source_strip(source, path),
        "choices": filter_choices(source.changes), "vendor_href": urls.relative(path, urls.vendor_page(source.vendor)),
        "default_a": numbers[-2] if len(numbers) > 1 else None, "default_b": numbers[-1] if numbers else None,
    }
    return Page(path, "source.html", context)


def _download_name(source_id: str, version: VersionInfo, snap: SnapshotInfo, confirmed: datetime | None = None) -> str:
    media = (snap.content_type or "text/html").split(";")[0].strip().lower()
    suffix = CONTENT_TYPE_SUFFIX.get(media, ".html")
    part = f"-part{snap.position + 1}" if snap.position or len(version.snapshots) > 1 else ""
    # A confirming fetch is named by its time: the same version was fetched again then.
    when = confirmed.astimezone(timezone.utc).strftime("-%Y%m%dT%H%M%SZ") if confirmed is not None else ""
    return f"{urls.source_dir(source_id).replace('/', '-')}-v{version.number}{when}{part}{suffix}"


@dataclass(frozen=True)
class ConfirmationLink:
    at: datetime
    snapshots: tuple[SnapshotLink, ...]


def settled(source: SourceInfo) -> SourceInfo:
    """The source without what every night changes (its last check, its current version's confirmations):
    what every file of the source except its page and its current version's page is made from."""
    if not source.versions:
        return replace(source, last_checked=None, origins=SourceOrigins())
    latest = replace(source.versions[-1], last_confirmed=None, confirmations=0, imported_confirmations=0)
    return replace(source, last_checked=None, origins=SourceOrigins(), versions=(*source.versions[:-1], latest))


def version_pages(source: SourceInfo, base_url: str) -> list[Page]:
    """Every version's page; the last is the current version's, whose `as_of` changes with every check."""
    by_to = {c.to_number: c for c in source.changes}
    return [_version_page(source, position, base_url, by_to) for position in range(len(source.versions))]


def current_version_page(source: SourceInfo, base_url: str) -> Page:
    latest = source.versions[-1].number
    return _version_page(source, len(source.versions) - 1, base_url,
                         {c.to_number: c for c in source.changes if c.to_number == latest})


def _version_page(source: SourceInfo, position: int, base_url: str, by_to: dict[int, ChangeInfo]) -> Page:
    version = source.versions[position]
    path = urls.version_page(source.id, version.number)
    change = by_to.get(version.number)
    snapshots = [SnapshotLink(s, urls.relative(path, urls.raw_snapshot(s.sha256)),
                              _download_name(source.id, version, s)) for s in version.snapshots]
    markdown = urls.version_markdown(source.id, version.number)
    earlier = source.versions[position - 1].number if position > 0 else None
    later = source.versions[position + 1].number if position + 1 < len(source.versions) else None
    context = _base(path) | {
        "source": label(source), "source_href": urls.relative(path, urls.source_page(source.id)),
        # Its confirmations are in `as_of` only: the part of the page a night's check may change.
        "version": replace(version, last_confirmed=None, confirmations=0, imported_confirmations=0),
        "snapshots": snapshots,
        "introduced_by": {"change": change, "href": urls.relative(path, urls.change_page(change.id))}
        if change else None,
        "prev_href": urls.relative(path, urls.version_page(source.id, earlier))
        if earlier == version.number - 1 else None,
        "next_href": urls.relative(path, urls.version_page(source.id, later))
        if later == version.number + 1 else None,
        "claims": version_links(source.claims, path, version.number),
        # Links in the text are resolved against the address the text was fetched from.
        "text_base": version.snapshots[0].final_url if version.snapshots else "",
        "markdown_href": urls.relative(path, markdown), "markdown_name": markdown.rsplit("/", 1)[-1],
        "permalink": base_url + path, "markdown_permalink": base_url + markdown,
        "as_of": as_of(source, position),
    }
    return Page(path, "version.html", context, (version.number,), "version", live=("as_of",))


def confirmation_links(page: Page, confirmations: Sequence[Confirmation]) -> list[ConfirmationLink]:
    version: VersionInfo = page.context["version"]
    source_id = page.context["source"].id
    return [ConfirmationLink(c.at, tuple(SnapshotLink(s, urls.relative(page.path, urls.raw_snapshot(s.sha256)),
                                                      _download_name(source_id, version, s, c.at))
                                         for s in c.snapshots)) for c in confirmations]


def change_pages(source: SourceInfo, base_url: str) -> list[Page]:
    pages = []
    first_seen = {v.number: v.first_seen for v in source.versions}
    changes = list(source.changes)
    for index, change in enumerate(changes):
        path = urls.change_page(change.id)
        context = _base(path) | {
            "source": label(source), "change": change, "evidence": group_evidence(evidence_items(change.evidence())), "evidence_shown": SHOWN,
            "source_href": urls.relative(path, urls.source_page(source.id)),
            "compare_href": urls.relative(path, urls.source_page(source.id)) + "#compare",
            "from_href": urls.relative(path, urls.version_page(source.id, change.from_number)),
            "to_href": urls.relative(path, urls.version_page(source.id, change.to_number)),
            "reverts_href": _reverts_href(path, source.id, change),
            "from_first_seen": first_seen.get(change.from_number), "to_first_seen": first_seen.get(change.to_number),
            "prev_href": urls.relative(path, urls.change_page(changes[index - 1].id)) if index > 0 else None,
            "next_href": urls.relative(path, urls.change_page(changes[index + 1].id)) if index + 1 < len(changes) else None,
            "permalink": base_url + path,
            "claims": change_links(source.claims, path, change.to_number),
        }
        pages.append(Page(path, "change.html", context, (change.from_number, change.to_number), "change"))
    return pages


def change_diff(page: Page, texts: dict[int, str]) -> MovedDiff:
    """The diff a change page shows: the word diff with moved paragraphs as moves (its counts are the change's own)."""
    change: ChangeInfo = page.context["change"]
    return diff_with_moves(texts[change.from_number], texts[change.to_number])


# Around a version's rendered text in its page (version.html): rendered Markdown never holds a tag of its
# own (HTML in it is escaped), so a page rewritten for its as-of dates alone can take its rendered text
# from the page it replaces.
TEXT_START, TEXT_END = '<div class="policy-text" lang="', '</div>\n<details class="plain-text"'


def rendered_text(page_html: str) -> Markup | None:
    """The rendered text of a version page written by this same code, or None."""
    start = page_html.find(TEXT_START)
    start = page_html.find(">\n", start) + 2 if start >= 0 else -1
    end = page_html.find(TEXT_END, start) if start >= 2 else -1
    return Markup(page_html[start:end]) if 0 <= start <= end else None


def text_context(page: Page, texts: dict[int, str], diff: MovedDiff | None = None,
                 confirmations: Sequence[Confirmation] = (), text_html: Markup | None = None) -> dict[str, Any]:
    """The page's full context: its metadata plus what is derived from version texts (and, for a version,
    its latest confirmations, which its `as_of` names by their count and last time)."""
    missing = [n for n in page.texts if n not in texts]  # damaged in the database: left out, and said so
    if page.kind == "version" and missing:
        return page.context | {"text": None, "words": None, "text_html": None, "text_damaged": True,
                               "confirmations": confirmation_links(page, confirmations)}
    if page.kind == "change" and missing:
        return page.context | {"damaged_versions": missing, "inline_blocks": [], "side_rows": [], "moves": 0}
    if page.kind == "version":
        text = texts[page.context["version"].number]
        if text_html is None:
            text_html = render_markdown(text, page.context["text_base"])
        return page.context | {"text": text, "words": count_words(text), "text_html": text_html, "text_damaged": False,
                               "confirmations": confirmation_links(page, confirmations)}
    if page.kind == "change":
        diff = diff if diff is not None else change_diff(page, texts)
        return page.context | {"damaged_versions": [], "inline_blocks": inline_view(diff),
                               "side_rows": side_by_side(diff), "moves": diff.moves}
    return page.context
