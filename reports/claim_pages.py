"""What the Claims index and each claim's page show, built from the recorded claims.

A page's context is plain data (the dataclasses below), so a hash of it
says whether the page must be written again. The wording of "why" a claim
has its status is made here, once, for the page, its ClaimReview JSON-LD and
its feed entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from analysis.claims import ClaimStatus, EvidenceInterval
from analysis.quotes import Quote
from reports import urls
from reports.news_data import MentionInfo
from storage.claims_queries import RecordedClaim, RecordedEvent

STATUS_ORDER = tuple(ClaimStatus)
# The index's word for a claim no recorded document falls under yet (it has no status).
NOT_TRACKED = "not_tracked"
CAUSES = {"tracking_start": "tracking started", "vendor_change": "the vendor changed its wording",
          "tracking_change": "what policywatch tracks changed", "source_undeclared": "a source was withdrawn"}
END_REASONS = {"removed": "removed", "reworded": "reworded", "tracking_changed": "tracking changed",
               "source_undeclared": "source withdrawn"}
REVISION_REASONS = {"declared": "the claim was declared", "declaration_changed": "its declaration changed",
                    "engine_changed": "the matching rules changed", "requested": "a full re-evaluation was asked for",
                    "earlier_history": "earlier versions of a document in its scope were recorded"}


@dataclass(frozen=True)
class SourceRef:
    """What a claim page needs to know of a recorded source."""

    id: str
    vendor: str
    title: str
    language: str
    urls: tuple[str, ...]
    versions: frozenset[int]
    change_by_version: Mapping[int, int]  # version number → id of the change that introduced it

    def version_href(self, page: str, number: int) -> str | None:
        return urls.relative(page, urls.version_page(self.id, number)) if number in self.versions else None

    def change_href(self, page: str, number: int | None) -> str | None:
        change = self.change_by_version.get(number) if number is not None else None
        return urls.relative(page, urls.change_page(change)) if change is not None else None


@dataclass(frozen=True)
class Appearance:
    url: str
    date: str
    title: str


@dataclass(frozen=True)
class Header:
    id: str
    vendor: str
    topics: tuple[str, ...]
    statements: tuple[tuple[str, str], ...]  # (language, text), English first
    said_by: str
    first_appearance: Appearance | None
    note: str
    declared: bool
    removed_at: datetime | None


@dataclass(frozen=True)
class StatusInfo:
    value: str
    label: str
    since: datetime | None
    tracked: bool
    why: str
    cause: str | None
    cause_source: str | None
    cause_version: int | None
    cause_href: str | None


@dataclass(frozen=True)
class TimelineItem:
    anchor: str
    since: datetime
    previous: str
    label: str
    value: str
    cause: str
    source_title: str | None
    source_href: str | None
    version: int | None
    version_href: str | None
    change_href: str | None
    announced: bool
    reevaluated_at: datetime | None
    removed: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceRow:
    role: str
    current: bool
    source_title: str
    source_href: str
    matcher_id: str
    before: str
    match: str
    after: str
    first_number: int
    first_at: datetime
    first_href: str | None
    last_number: int
    last_at: datetime
    last_href: str | None
    still_current: bool
    last_confirmed: datetime
    end_reason: str | None
    end_at: datetime | None
    end_version: int | None
    end_href: str | None
    successor: str | None
    reading: str
    expect_failures: tuple[str, ...]


@dataclass(frozen=True)
class SuccessorItem:
    sentence: str
    source_title: str
    source_href: str
    since: datetime
    via: str


@dataclass(frozen=True)
class RevisionItem:
    at: datetime
    reason: str
    before: str
    after: str
    added: int
    withdrawn: int


@dataclass(frozen=True)
class Suggestion:
    language: str
    rank: int
    score: float
    source_title: str
    source_href: str
    sentence: str
    already_evidence: bool


@dataclass(frozen=True)
class CoverageItem:
    """A sentence of a press article that mentions the claim: what the Press coverage section lists."""

    outlet: str
    title: str | None
    url: str  # the original
    href: str  # the article's page on this site
    appeared: datetime
    language: str | None
    quote: Quote
    stance: str  # analysis.claims.vocabulary.Stance
    review: str
    stale: bool  # repeats the claim, published while the vendor no longer backed it
    status_then: str | None


@dataclass(frozen=True)
class CoverageSummary:
    """"Repeated by N outlets, first and last appearance"."""

    articles: int
    outlets: int
    repeating_outlets: int
    first: datetime | None
    last: datetime | None
    stale: int


def coverage(mentions: Sequence[MentionInfo], page: str) -> tuple[list[CoverageItem], CoverageSummary]:
    """The claim's press coverage, newest article first, and what it adds up to."""
    items = [CoverageItem(m.outlet, m.title, m.url, urls.relative(page, urls.article_page(m.article_id)), m.appeared,
                          m.language, m.quote, m.stance, m.review, m.stale, m.status_then)
             for m in sorted(mentions, key=lambda m: m.appeared, reverse=True)]
    times = [m.appeared for m in mentions]
    summary = CoverageSummary(
        articles=len({m.article_id for m in mentions}), outlets=len({m.outlet for m in mentions}),
        repeating_outlets=len({m.outlet for m in mentions if m.stance == "repeats"}),
        first=min(times) if times else None, last=max(times) if times else None,
        stale=len({m.article_id for m in mentions if m.stale}))
    return items, summary


@dataclass(frozen=True)
class IndexRow:
    id: str
    href: str
    statement: str
    vendor: str
    topics: tuple[str, ...]
    status: str
    label: str
    since: datetime | None
    tracked: bool
    declared: bool
    supports: int
    contradicts: int


def status_label(status: str | None) -> str:
    return "not tracked" if status is None else ClaimStatus(status).label


def header(item: RecordedClaim) -> Header:
    claim = item.claim
    first = claim.first_appearance
    return Header(
        id=claim.id, vendor=claim.vendor, topics=tuple(str(t) for t in claim.topics),
        statements=tuple(sorted(claim.statement.items(), key=lambda kv: (kv[0] != "en", kv[0]))),
        said_by=claim.said_by,
        first_appearance=None if first is None else Appearance(first.url, first.date.isoformat(), first.title),
        note=claim.note, declared=item.declared, removed_at=item.removed_at)


def _count(item: RecordedClaim, role: str) -> int:
    return sum(1 for iv in item.view.current() if iv.role == role)


def why(item: RecordedClaim, sources: Mapping[str, SourceRef]) -> str:
    """One or two sentences on why the claim has its status, for a reader who will not open the evidence."""
    view = item.view
    status = view.status
    supports, contradicts = _count(item, "supports"), _count(item, "contradicts")
    if item.state is None and not view.timeline:
        return "No document of the vendor that this claim covers has been recorded yet."
    if status is ClaimStatus.SUPPORTED:
        text = (f"{supports} sentence{'s' if supports != 1 else ''} in the vendor's current documents "
                f"say{'s' if supports == 1 else ''} it.")
    elif status is ClaimStatus.WEAKENED:
        failures = sorted({f for iv in view.current() if iv.role == "supports" for f in iv.failures})
        text = ("The vendor's current wording says something like it, but not all of it"
                + (f": {'; '.join(failures)}." if failures else "."))
    elif status is ClaimStatus.CONTRADICTED:
        text = (f"{contradicts} sentence{'s' if contradicts != 1 else ''} in the vendor's current documents "
                f"contradict{'s' if contradicts == 1 else ''} it.")
    elif status is ClaimStatus.CONFLICTING:
        text = (f"The vendor's current documents both say it ({supports} sentence{'s' if supports != 1 else ''}) "
                f"and contradict it ({contradicts}).")
    elif status is ClaimStatus.NO_LONGER_STATED:
        ends = [iv.end for iv in item.intervals if iv.role == "supports" and iv.end is not None]
        last = max(ends, key=lambda end: end.at) if ends else None
        text = "The vendor's documents said it, and no longer do"
        if last is not None:
            text += f": the wording was {END_REASONS.get(str(last.reason), str(last.reason))} on {last.at:%Y-%m-%d}"
        text += "."
        if view.successors:
            text += " See what replaced it below."
    elif status is ClaimStatus.TRACKING_CHANGED:
        text = ("What policywatch tracks changed where the evidence was (a source's address or selectors, or a source "
                "was withdrawn), so the difference is not the vendor's doing and needs a person to review it.")
    else:
        text = "No sentence of the vendor's tracked documents says it or contradicts it."
    if view.unconfirmed:
        names = ", ".join(sources[sid].title if sid in sources else sid for sid, _ in view.unconfirmed)
        text += (f" Some evidence could not be confirmed lately because its source is failing ({names}); "
                 f"a failing source never changes a status.")
    return text


def status_info(item: RecordedClaim, sources: Mapping[str, SourceRef], page: str) -> StatusInfo:
    view = item.view
    last = view.timeline[-1] if view.timeline else None
    source = sources.get(last.source_id) if last is not None and last.source_id else None
    return StatusInfo(
        value=str(view.status), label=view.status.label, since=view.since,
        tracked=item.state is not None or bool(view.timeline), why=why(item, sources),
        cause=CAUSES.get(str(view.cause)) if view.cause is not None else None,
        cause_source=source.title if source is not None else (last.source_id if last is not None else None),
        cause_version=last.version if last is not None else None,
        cause_href=source.change_href(page, last.version) or source.version_href(page, last.version or 0)
        if source is not None and last is not None else None)


def _source(sources: Mapping[str, SourceRef], sid: str) -> SourceRef:
    return sources.get(sid) or SourceRef(sid, "", sid, "", (), frozenset(), {})


def anchor(event: RecordedEvent) -> str:
    return f"at-{event.event.since.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{event.event.status}"


def timeline(item: RecordedClaim, sources: Mapping[str, SourceRef], page: str) -> list[TimelineItem]:
    out = []
    for recorded in item.events:
        event = recorded.event
        if item.view.at is not None and event.since > item.view.at:
            continue
        source = _source(sources, event.source_id) if event.source_id else None
        out.append(TimelineItem(
            anchor=anchor(recorded), since=event.since,
            previous=status_label(None if event.previous is None else str(event.previous)),
            label=event.status.label, value=str(event.status), cause=CAUSES.get(str(event.cause), str(event.cause)),
            source_title=source.title if source else None,
            source_href=urls.relative(page, urls.source_page(source.id)) if source else None,
            version=event.version,
            version_href=source.version_href(page, event.version) if source and event.version else None,
            change_href=source.change_href(page, event.version) if source else None,
            announced=event.announce, reevaluated_at=event.reevaluated_at,
            removed=event.removed, added=event.added))
    return out


def _reading(iv: EvidenceInterval) -> str:
    parts = [str(iv.reading.polarity)]
    parts += [d.text for d in iv.reading.durations]
    if iv.reading.opt is not None:
        parts.append(str(iv.reading.opt))
    return ", ".join(parts)


def evidence(item: RecordedClaim, sources: Mapping[str, SourceRef], page: str) -> list[EvidenceRow]:
    rows = []
    at = item.view.at
    for iv in item.view.evidence:
        source = _source(sources, iv.source_id)
        current = iv.is_open if at is None else iv.held_at(at)
        start, end = iv.span
        if not (0 <= start <= end <= len(iv.sentence)):
            start = end = len(iv.sentence)
        ended = iv.end if (iv.end is not None and (at is None or iv.end.at <= at)) else None
        rows.append(EvidenceRow(
            role=str(iv.role), current=current, source_title=source.title,
            source_href=urls.relative(page, urls.source_page(source.id)), matcher_id=iv.matcher_id,
            before=iv.sentence[:start], match=iv.sentence[start:end], after=iv.sentence[end:],
            first_number=iv.first.number, first_at=iv.first.at, first_href=source.version_href(page, iv.first.number),
            last_number=iv.last.number, last_at=iv.last.at, last_href=source.version_href(page, iv.last.number),
            still_current=ended is None and iv.is_open, last_confirmed=iv.last_confirmed,
            end_reason=END_REASONS.get(str(ended.reason), str(ended.reason)) if ended else None,
            end_at=ended.at if ended else None, end_version=ended.version if ended else None,
            end_href=source.change_href(page, ended.version) if ended else None,
            successor=ended.successor if ended else None, reading=_reading(iv), expect_failures=iv.failures))
    return rows


def successors(item: RecordedClaim, sources: Mapping[str, SourceRef], page: str) -> list[SuccessorItem]:
    out = []
    for s in item.view.successors:
        source = _source(sources, s.source_id)
        via = "declared as the wording that replaces the claim" if s.via.startswith("matcher") else "reworded sentence"
        out.append(SuccessorItem(s.sentence, source.title, urls.relative(page, urls.source_page(source.id)), s.since,
                                 via))
    return out


def revisions(item: RecordedClaim) -> list[RevisionItem]:
    """Re-evaluations that changed something a reader saw (events found or withdrawn, a different status)."""
    return [RevisionItem(r.at, REVISION_REASONS.get(r.reason, r.reason), status_label(r.status_before),
                         status_label(r.status_after), r.events_added, r.events_withdrawn)
            for r in item.revisions
            if r.events_added or r.events_withdrawn or (r.status_before != r.status_after and r.status_before)]


def _day(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(timezone.utc).strftime("%Y-%m-%d")


def claim_review(item: RecordedClaim, status: StatusInfo, sources: Mapping[str, SourceRef], permalink: str,
                 published: datetime | None) -> dict[str, Any]:
    """The claim as schema.org ClaimReview: what was claimed, by whom, where it appears, and our rating."""
    claim = item.claim
    appearances = []
    if claim.first_appearance is not None:
        appearances.append(claim.first_appearance.url)
    for iv in item.view.current():
        if iv.role == "supports" and iv.source_id in sources:
            appearances.extend(sources[iv.source_id].urls)
    reviewed: dict[str, Any] = {"@type": "Claim", "author": {"@type": "Organization", "name": claim.vendor}}
    if claim.said_by:
        reviewed["description"] = f"Said by: {claim.said_by}"
    if appearances:
        reviewed["appearance"] = [{"@type": "CreativeWork", "url": u} for u in dict.fromkeys(appearances)]
    if claim.first_appearance is not None:
        first = {"@type": "CreativeWork", "url": claim.first_appearance.url,
                 "datePublished": claim.first_appearance.date.isoformat()}
        if claim.first_appearance.title:
            first["name"] = claim.first_appearance.title
        reviewed["firstAppearance"] = first
        reviewed["datePublished"] = claim.first_appearance.date.isoformat()
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": permalink,
        "claimReviewed": claim.statement["en"],
        "author": {"@type": "Organization", "name": "policywatch"},
        "itemReviewed": reviewed,
        "reviewRating": {"@type": "Rating", "alternateName": status.label, "ratingExplanation": status.why},
        "reviewBody": status.why,
    }
    if published is not None:
        data["datePublished"] = _day(published)
    if status.since is not None:
        data["dateModified"] = _day(status.since)
    return data


def script_json(data: Any) -> str:
    """JSON for a ``<script type="application/ld+json">`` block: nothing in it can close the element."""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    # Line separators and bidi controls as escapes: the data keeps them, the page's source shows none raw.
    return re.sub("[\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
                  lambda m: f"\\u{ord(m.group()):04x}", text)


def index_row(item: RecordedClaim) -> IndexRow:
    view = item.view
    tracked = item.state is not None or bool(view.timeline)
    return IndexRow(
        id=item.claim.id, href=urls.relative(urls.claims_index(), urls.claim_page(item.claim.id)),
        statement=item.claim.statement["en"], vendor=item.claim.vendor,
        topics=tuple(str(t) for t in item.claim.topics), status=str(view.status) if tracked else NOT_TRACKED,
        label=view.status.label if tracked else "not tracked yet", since=view.since, tracked=tracked,
        declared=item.declared, supports=_count(item, "supports"), contradicts=_count(item, "contradicts"))


def index_order(row: IndexRow) -> tuple[bool, int, str]:
    """Declared claims first, by status in the vocabulary's order, untracked ones last."""
    rank = STATUS_ORDER.index(ClaimStatus(row.status)) if row.tracked else len(STATUS_ORDER)
    return (not row.declared, rank, row.id)


def status_counts(rows: Sequence[IndexRow]) -> list[tuple[str, str, int]]:
    """(status, label, count) for every status some claim has, in the vocabulary's order, untracked last."""
    statuses = [(str(s), s.label) for s in STATUS_ORDER] + [(NOT_TRACKED, "not tracked yet")]
    return [(value, label, sum(1 for r in rows if r.status == value)) for value, label in statuses
            if any(r.status == value for r in rows)]
