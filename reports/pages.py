"""What each page shows: its path, its template and the record data in it.

A page's context holds metadata only; the version texts a page also shows
are named by their sha256 in that metadata and added just before rendering
(`text_context`). So a hash of the context alone tells whether a page must be
rewritten, and the build reads a text only for a page it actually writes.
Nothing that changes every night for every source (last checked, last
confirmed) goes into a source, version or change page, or every page of the
site would be rewritten after each run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Sequence

from analysis.diff import count_words
from analysis.moves import MovedDiff, diff_with_moves
from reports import urls
from reports.claim_links import change_links, version_links
from reports.data import ChangeInfo, Health, Record, SnapshotInfo, SourceInfo, VersionInfo
from reports.diffview import inline_view, side_by_side
from reports.evidence_groups import SHOWN, evidence_items, group_evidence
from reports.ledgerfiles import LedgerHead
from reports.notify.dispatch import MAX_ATTEMPTS
from storage.models import SourceFields
from storage.notify_record import UndeliveredInfo
from storage.vocabulary import CHECKING_RUN_KINDS, RunKind

INDEX_CHANGES = 50
CONTENT_TYPE_SUFFIX = {"text/markdown": ".md", "text/plain": ".txt", "application/xhtml+xml": ".xhtml"}


@dataclass(frozen=True)
class Page:
    path: str
    template: str
    context: dict[str, Any]
    # Version numbers whose texts the page shows (their sha256s are in the context).
    texts: tuple[int, ...] = ()
    kind: str = "plain"  # plain | version | change


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
    last_checked: datetime | None
    last_changed: datetime | None
    versions: int
    health: Health
    href: str


@dataclass(frozen=True)
class ChangeLink:
    change: ChangeInfo
    source_id: str
    vendor: str
    title: str
    href: str


@dataclass(frozen=True)
class TimelineRow:
    number: int
    first_seen: datetime
    chars: int
    href: str
    change: ChangeInfo | None
    change_href: str | None


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


def index_page(record: Record, data: DataLink | None = None, ledger: LedgerHead | None = None) -> Page:
    path = urls.index_page()
    sources = {s.id: s for s in record.sources}
    changes = [ChangeLink(c, c.source_id, sources[c.source_id].vendor, sources[c.source_id].title,
                          urls.relative(path, urls.change_page(c.id)))
               for c in record.changes[:INDEX_CHANGES]]
    rows = [IndexRow(s.id, s.vendor, s.title, s.document_type, s.language, s.last_checked, s.last_changed,
                     len(s.versions), s.health, urls.relative(path, urls.source_page(s.id))) for s in record.sources]
    totals = {"sources": len(record.sources), "versions": sum(len(s.versions) for s in record.sources),
              "changes": len(record.changes)}
    alternates = [_alternate(path, urls.feed("changes", "atom"), "All changes (Atom)", "atom"),
                  _alternate(path, urls.feed("changes", "rss"), "All changes (RSS)", "rss"),
                  _alternate(path, urls.feed("flagged", "atom"), "Flagged changes (Atom)", "atom")]
    context = _base(path, alternates) | {
        "changes": changes, "more_changes": len(record.changes) > INDEX_CHANGES, "sources": rows,
        "totals": totals, "last_run": next((r for r in record.runs  # the vendors' documents: a news run counts articles
                                           if r.kind in CHECKING_RUN_KINDS and r.kind != RunKind.NEWS), None),
        "data": data, "ledger": ledger,
    }
    return Page(path, "index.html", context)


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
                            urls.relative(path, urls.change_page(by_to[v.number].id)) if v.number in by_to else None)
                for v in reversed(source.versions)]
    texts_script = urls.relative(path, urls.version_texts(source.id))
    feeds = {fmt: urls.relative(path, urls.source_feed(source.id, fmt)) for fmt in ("atom", "rss")}
    alternates = [_alternate(path, urls.source_feed(source.id, "atom"), f"{source.title} (Atom)", "atom"),
                  _alternate(path, urls.source_feed(source.id, "rss"), f"{source.title} (RSS)", "rss")]
    header = SourceHeader(**{f.name: getattr(source, f.name) for f in fields(SourceFields)}, health=source.health)
    numbers = [v.number for v in source.versions]
    context = _base(path, alternates) | {
        "source": header, "timeline": timeline, "feeds": feeds, "texts_script": texts_script,
        "pending": source.pending,
        "default_a": numbers[-2] if len(numbers) > 1 else None, "default_b": numbers[-1] if numbers else None,
    }
    return Page(path, "source.html", context)


def _download_name(source_id: str, version: VersionInfo, snap: SnapshotInfo) -> str:
    media = (snap.content_type or "text/html").split(";")[0].strip().lower()
    suffix = CONTENT_TYPE_SUFFIX.get(media, ".html")
    part = f"-part{snap.position + 1}" if len(version.snapshots) > 1 else ""
    return f"{urls.source_dir(source_id).replace('/', '-')}-v{version.number}{part}{suffix}"


def version_pages(source: SourceInfo) -> list[Page]:
    pages = []
    by_to = {c.to_number: c for c in source.changes}
    numbers = {v.number for v in source.versions}
    for version in source.versions:
        path = urls.version_page(source.id, version.number)
        change = by_to.get(version.number)
        snapshots = [SnapshotLink(s, urls.relative(path, urls.raw_snapshot(s.sha256)),
                                  _download_name(source.id, version, s)) for s in version.snapshots]
        context = _base(path) | {
            "source": label(source), "source_href": urls.relative(path, urls.source_page(source.id)),
            "version": version, "snapshots": snapshots,
            "introduced_by": {"change": change, "href": urls.relative(path, urls.change_page(change.id))}
            if change else None,
            "prev_href": urls.relative(path, urls.version_page(source.id, version.number - 1))
            if version.number - 1 in numbers else None,
            "next_href": urls.relative(path, urls.version_page(source.id, version.number + 1))
            if version.number + 1 in numbers else None,
            "claims": version_links(source.claims, path, version.number),
        }
        pages.append(Page(path, "version.html", context, (version.number,), "version"))
    return pages


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


def text_context(page: Page, texts: dict[int, str], diff: MovedDiff | None = None) -> dict[str, Any]:
    """The page's full context: its metadata plus what is derived from version texts."""
    if page.kind == "version":
        text = texts[page.context["version"].number]
        return page.context | {"text": text, "words": count_words(text)}
    if page.kind == "change":
        diff = diff if diff is not None else change_diff(page, texts)
        return page.context | {"inline_blocks": inline_view(diff), "side_rows": side_by_side(diff), "moves": diff.moves}
    return page.context
