"""The Claims part of the site: the index, a page and a JSON file per claim, and the claims feeds.

Pages are written through the incremental ``SiteWriter`` like every other
page: a claim page is rewritten when its record, the sources it quotes, or
the current versions it draws suggestions from changed. Suggestions (BM25,
``analysis.claims.suggest``) are computed only for a page being written.
Version and change pages link back through the marks each source carries
(``reports.claim_links``).
"""

from __future__ import annotations

import json
from functools import partial
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy.orm import Session

from analysis.claims import SourceInfo as ClaimSourceInfo
from analysis.claims import suggest
from reports import claim_pages, feeds, urls
from reports.claim_links import ClaimMark
from reports.data import Record, SourceInfo, load_texts
from reports.news_data import MentionInfo
from reports.output import SiteWriter
from reports.render import render
from storage.claims_queries import RecordedClaim, recorded_claims
from storage.health import FAILING_AFTER_RUNS

SUGGESTIONS = 3


@dataclass(frozen=True)
class ClaimsSite:
    items: tuple[RecordedClaim, ...]
    sources: dict[str, claim_pages.SourceRef]


def load_claims_site(session: Session, record: Record, failing_after: int = FAILING_AFTER_RUNS) -> ClaimsSite:
    refs = {s.id: claim_pages.SourceRef(s.id, s.vendor, s.title, s.language, tuple(s.urls),
                                        frozenset(v.number for v in s.versions),
                                        {c.to_number: c.id for c in s.changes})
            for s in record.sources}
    return ClaimsSite(tuple(recorded_claims(session, failing_after=failing_after)), refs)


def with_claim_marks(record: Record, site: ClaimsSite) -> Record:
    """The record with each source carrying the marks of the claims its versions and changes bear on."""
    marks: dict[str, list[ClaimMark]] = {}
    for item in site.items:
        statement = item.claim.statement["en"]
        for iv in item.intervals:
            marks.setdefault(iv.source_id, []).append(ClaimMark(
                iv.claim_id, statement, "evidence", str(iv.role), iv.first.number,
                None if iv.end is None else iv.last.number, None if iv.end is None else iv.end.version,
                None if iv.end is None else str(iv.end.reason)))
        for recorded in item.events:
            event = recorded.event
            if event.source_id is not None and event.version is not None:
                marks.setdefault(event.source_id, []).append(ClaimMark(
                    event.claim_id, statement, "event", str(event.status), event.version,
                    previous=None if event.previous is None else str(event.previous)))
    if not marks:
        return record
    sources = tuple(replace(s, claims=tuple(sorted(set(marks.get(s.id, ())), key=_mark_order))) for s in record.sources)
    return replace(record, sources=sources)


def _mark_order(mark: ClaimMark) -> tuple[Any, ...]:
    return (mark.claim_id, mark.kind, mark.role, mark.first, mark.last or 0, mark.ended_at_version or 0)


class _Texts:
    """Current version texts, read once per build and only for pages being written."""

    def __init__(self, session: Session, sources: Sequence[SourceInfo]):
        self.session = session
        self.latest = {s.id: s.versions[-1] for s in sources if s.versions}
        self.cache: dict[str, str] = {}

    def key(self, source_ids: Sequence[str]) -> list[tuple[str, str]]:
        return [(sid, self.latest[sid].sha256) for sid in source_ids if sid in self.latest]

    def get(self, source_id: str) -> str:
        if source_id not in self.cache:
            number = self.latest[source_id].number
            # A damaged text (its version page names the damage) suggests nothing.
            self.cache[source_id] = load_texts(self.session, source_id, [number], {}).get(number, "")
        return self.cache[source_id]


def _in_scope(item: RecordedClaim, sources: Sequence[SourceInfo]) -> list[SourceInfo]:
    return [s for s in sources if s.versions and item.claim.in_scope(ClaimSourceInfo(s.id, s.vendor, s.language))]


def _suggestions(item: RecordedClaim, in_scope: Sequence[SourceInfo], texts: _Texts, page: str,
                 refs: Mapping[str, claim_pages.SourceRef]) -> list[claim_pages.Suggestion]:
    by_language: dict[str, dict[str, str]] = {}
    for source in in_scope:
        by_language.setdefault(source.language.split("-")[0].lower(), {})[source.id] = texts.get(source.id)
    evidence = {iv.sentence for iv in item.view.current()}
    out = []
    for language, corpus in sorted(by_language.items()):
        try:
            found = suggest(item.claim, corpus, language, top=SUGGESTIONS)
        except ValueError:
            continue  # no stemmer for that language
        for s in found:
            ref = refs[s.source_id]
            out.append(claim_pages.Suggestion(language, s.rank, round(s.score, 2), ref.title,
                                              urls.relative(page, urls.source_page(ref.id)), s.sentence,
                                              s.sentence in evidence))
    return out


def _page_context(item: RecordedClaim, site: ClaimsSite, base_url: str,
                  mentions: Sequence[MentionInfo] = ()) -> dict[str, Any]:
    page = urls.claim_page(item.claim.id)
    coverage, coverage_summary = claim_pages.coverage(mentions, page)
    coverage_feeds = {fmt: urls.relative(page, urls.claim_coverage_feed(item.claim.id, fmt)) for fmt in ("atom", "rss")}
    refs = site.sources
    status = claim_pages.status_info(item, refs, page)
    permalink = base_url + page
    published = item.revisions[0].at if item.revisions else None
    review = claim_pages.claim_review(item, status, refs, permalink, published)
    feeds_ = {fmt: urls.relative(page, urls.claim_feed(item.claim.id, fmt)) for fmt in ("atom", "rss")}
    return {
        "root": urls.root_of(page),
        "alternates": [{"href": feeds_["atom"], "title": f"{item.claim.id} (Atom)", "type": "application/atom+xml"},
                       {"href": feeds_["rss"], "title": f"{item.claim.id} (RSS)", "type": "application/rss+xml"}],
        "claim": claim_pages.header(item), "status": status,
        "timeline": claim_pages.timeline(item, refs, page),
        "evidence": claim_pages.evidence(item, refs, page),
        "successors": claim_pages.successors(item, refs, page),
        "unconfirmed": [(refs[sid].title if sid in refs else sid, since) for sid, since in item.view.unconfirmed],
        "revisions": claim_pages.revisions(item),
        "withdrawn": len(item.withdrawn),
        "errors": [(e.at, refs[e.source_id].title if e.source_id in refs else e.source_id, e.version, e.message)
                   for e in item.errors[-5:]],
        "coverage": coverage, "coverage_summary": coverage_summary,
        "coverage_feeds": coverage_feeds if coverage else None,
        "json_ld": claim_pages.script_json(review),
        "json_href": urls.relative(page, urls.claim_json(item.claim.id)),
        "feeds": feeds_, "permalink": permalink,
        "index_href": urls.relative(page, urls.claims_index()),
    }


def write_claims(session: Session, writer: SiteWriter, record: Record, site: ClaimsSite, base_url: str,
                 mentions: Sequence[MentionInfo] = ()) -> None:
    """Every claim's page (with its press coverage: ``mentions``) and JSON, the Claims index and the claims
    feeds."""
    by_claim: dict[str, list[MentionInfo]] = {}
    for mention in mentions:
        by_claim.setdefault(mention.claim_id, []).append(mention)
    texts = _Texts(session, record.sources)
    titles = {sid: f"{ref.vendor} — {ref.title}" for sid, ref in site.sources.items()}
    for item in site.items:
        page = urls.claim_page(item.claim.id)
        context = _page_context(item, site, base_url, by_claim.get(item.claim.id, ()))
        in_scope = _in_scope(item, record.sources)
        key = writer.key("claim.html", context, item.claim.statement, texts.key([s.id for s in in_scope]))

        def make(context: dict[str, Any] = context, item: RecordedClaim = item,
                 in_scope: list[SourceInfo] = in_scope, page: str = page) -> str:
            suggestions = _suggestions(item, in_scope, texts, page, site.sources)
            return render("claim.html", suggestions=suggestions, **context)

        writer.produce(page, key, make)
        # The record keeps where the claim was declared on the publisher's machine; the site names the file
        # within the claims folder (which holds files, no subfolders), never the folder.
        data = item.to_json(titles) | {"page": base_url + page, "declared_in": PurePath(item.declared_in).name}
        body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        writer.produce(urls.claim_json(item.claim.id), writer.key("claim.json", body), partial(str, body))
        _write_claim_feed(writer, item, site, base_url, record.began)
    rows = [claim_pages.index_row(item) for item in site.items]
    rows.sort(key=claim_pages.index_order)
    path = urls.claims_index()
    context = {"root": urls.root_of(path),
               "alternates": [{"href": urls.relative(path, urls.claims_feed("atom")), "title": "Claims (Atom)",
                               "type": "application/atom+xml"},
                              {"href": urls.relative(path, urls.claims_feed("rss")), "title": "Claims (RSS)",
                               "type": "application/rss+xml"}],
               "rows": rows, "counts": claim_pages.status_counts(rows),
               "feeds": {fmt: urls.relative(path, urls.claims_feed(fmt)) for fmt in ("atom", "rss")},
               "script": urls.relative(path, urls.static_file("claims.js"))}
    writer.produce(path, writer.key("claims_index.html", context), lambda: render("claims_index.html", **context))
    _write_claims_feed(writer, site, base_url, record.began)


# --- feeds


def _announced(item: RecordedClaim) -> list[Any]:
    return [r for r in item.events if r.event.announce]


def _entry(item: RecordedClaim, recorded: Any, site: ClaimsSite, base_url: str) -> feeds.Entry:
    event = recorded.event
    claim = item.claim
    ref = site.sources.get(event.source_id or "")
    previous = claim_pages.status_label(None if event.previous is None else str(event.previous))
    link = base_url + urls.claim_page(claim.id) + "#" + claim_pages.anchor(recorded)
    change = ref.change_by_version.get(event.version) if ref is not None and event.version is not None else None
    content = render("claim_feed_entry.html", claim=claim_pages.header(item), event=event, previous=previous,
                     source_title=ref.title if ref is not None else event.source_id,
                     change_link=base_url + urls.change_page(change) if change is not None else None,
                     claim_link=base_url + urls.claim_page(claim.id))
    title = f"{claim.vendor}: “{claim.statement['en']}” — {previous} → {event.status.label}"
    entry_id = urls.claim_event_tag(claim.id, str(event.status), event.since.strftime("%Y%m%dT%H%M%SZ"),
                                    event.source_id, event.version)
    return feeds.Entry(entry_id, title, link, event.since, content, tuple(str(t) for t in claim.topics))


def _write(writer: SiteWriter, stem: str, tag: str, title: str, subtitle: str, html_path: str,
           entries: Sequence[tuple[RecordedClaim, Any]], site: ClaimsSite, base_url: str,
           since: datetime | None) -> None:
    by_claim = sorted(entries, key=lambda e: e[0].claim.id)
    chosen = sorted(by_claim, key=lambda e: e[1].event.since, reverse=True)[:feeds.MAX_ENTRIES]  # newest first
    key = writer.key("claims-feed", stem, title, since, [(item.claim.statement, item.claim.vendor, item.claim.topics,
                                                   recorded.event, site.sources.get(recorded.event.source_id or ""))
                                                  for item, recorded in chosen])
    paths = {fmt: f"feeds/{stem}.{fmt}" for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(tag, title, subtitle, base_url + html_path, {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_entry(item, recorded, site, base_url) for item, recorded in chosen), since)
    for fmt, path in paths.items():
        writer.write(path, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.own(path, key)


def _write_claims_feed(writer: SiteWriter, site: ClaimsSite, base_url: str, since: datetime | None) -> None:
    entries = [(item, recorded) for item in site.items for recorded in _announced(item)]
    _write(writer, "claims", urls.feed_tag("claims"), "policywatch: claims whose status changed",
           "One entry each time a claim about a vendor's data practices changes status because the vendor changed "
           "its own wording (declaration edits, tracking changes and re-evaluations are left out).",
           urls.claims_index(), entries, site, base_url, since)


def _write_claim_feed(writer: SiteWriter, item: RecordedClaim, site: ClaimsSite, base_url: str,
                      record_began: datetime | None) -> None:
    # Empty, the feed has been so since the claim's record began: its first event (tracking started).
    since = min((r.event.since for r in item.events), default=record_began)
    stem = urls.claim_feed(item.claim.id, "atom")[len("feeds/"):-len(".atom")]
    _write(writer, stem, urls.feed_tag(f"claim/{item.claim.id}"), f"policywatch: {item.claim.statement['en']}",
           f"Status changes of the claim {item.claim.id} caused by the vendor's wording.",
           urls.claim_page(item.claim.id), [(item, r) for r in _announced(item)], site, base_url, since)
