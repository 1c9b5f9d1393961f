"""What the Coverage pages and feed show, read from the news record.

Only what may be published is read out: an article's metadata, its
versions' dates, sizes, flags and correction notices, its flagged sentences
and the sentences that mention a claim as quotations (``analysis.quotes``)
and its syndicated copies. Article texts and raw pages are never loaded here.

Mentions are those of each article's latest version; a mention a reader
rejected is not published. An article's quotations share one budget
(``analysis.quotes.QuoteBudget``): its sentences that mention a claim come
first (stale repetitions, then repetitions, disputes and reports), then its
flagged sentences; what does not fit is not published.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.claims.vocabulary import MentionReview
from analysis.quotes import Quote, QuoteBudget, quotes
from storage import mentions_queries
from storage.news_models import ArticleRow, ArticleVersion
from storage.vocabulary import ArticleStatus

MAX_NOTICE_CHARS = 600
_STANCE_ORDER = {"repeats": 0, "disputes": 1, "reports": 2}


@dataclass(frozen=True)
class Correction:
    marker: str
    notice: str


@dataclass(frozen=True)
class EditionInfo:
    number: int
    first_seen: datetime
    words: int
    text_kept: bool
    words_added: int | None
    words_removed: int | None
    is_correction: bool
    corrections: tuple[Correction, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class CopyInfo:
    id: str
    outlet: str
    title: str | None
    url: str
    first_seen: datetime
    similarity: float | None


@dataclass(frozen=True)
class MentionInfo:
    """A sentence of an article's latest version that mentions a claim, as the site may quote it."""

    id: int
    claim_id: str
    article_id: str
    outlet: str
    title: str | None
    url: str
    language: str | None
    appeared: datetime
    quote: Quote  # the sentence, the claim's words marked
    stance: str  # analysis.claims.vocabulary.Stance
    cue: str | None
    review: str  # unreviewed | confirmed (rejected ones are not published)
    stale: bool  # repeats the claim, published while the vendor no longer backed it
    status_then: str | None  # the claim's status label when the article appeared


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    url: str
    title: str | None
    outlet: str
    outlet_type: str
    news_source_id: str
    language: str | None
    author: str | None
    published: str | None
    published_at: datetime | None
    modified: str | None
    first_seen: datetime
    status: str
    tdm_reserved: bool
    vendors: tuple[str, ...]
    topics: tuple[str, ...]
    editions: tuple[EditionInfo, ...]  # oldest first
    quotes: tuple[Quote, ...]  # the newest version's flagged sentences
    copies: tuple[CopyInfo, ...]  # the other articles of its syndication cluster
    mentions: tuple[MentionInfo, ...] = ()  # sentences of the latest version that mention a claim

    @property
    def claims(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.claim_id for m in self.mentions))

    @property
    def stale(self) -> bool:
        return any(m.stale for m in self.mentions)

    @property
    def flags(self) -> tuple[str, ...]:
        return self.editions[-1].flags if self.editions else ()

    @property
    def corrected(self) -> bool:
        return any(e.is_correction for e in self.editions)

    @property
    def readable(self) -> bool:
        return self.status == ArticleStatus.READABLE

    @property
    def when(self) -> datetime:
        """Its date as the pages show it: the declared publication, else when it was first seen (a mention's
        `appeared`, which the stale-repetition rule reads, is never later than the first sighting)."""
        return self.published_at or self.first_seen


def _corrections(items: Any) -> tuple[Correction, ...]:
    found = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("notice"), str):
            found.append(Correction(str(item.get("marker") or "Correction"), item["notice"][:MAX_NOTICE_CHARS]))
    return tuple(found)


def _quote(listing: mentions_queries.MentionListing) -> Quote:
    m = listing.mention
    found = quotes([{"sentence": m.sentence, "start": m.span_start, "end": m.span_end}])
    return found[0] if found else Quote(m.sentence, (), ())


def load_mentions(session: Session, limit: int | None = mentions_queries.MAX_LISTED) -> tuple[MentionInfo, ...]:
    """The published mentions of every article's latest version, the newest article first (the newest `limit`
    only; None: all)."""
    found = []
    for listing in mentions_queries.listings(session, current_only=True, limit=limit):
        m, a = listing.mention, listing.article
        if m.review == MentionReview.REJECTED:
            continue
        found.append(MentionInfo(
            id=m.id, claim_id=m.claim_id, article_id=a.id, outlet=a.outlet, title=a.title, url=a.canonical_url,
            language=a.language, appeared=listing.appeared, quote=_quote(listing), stance=m.stance, cue=m.cue,
            review=m.review, stale=listing.stale,
            status_then=listing.status_then.label if listing.status_then is not None else None))
    return tuple(found)


def load_coverage(session: Session, mention_limit: int | None = mentions_queries.MAX_LISTED
                  ) -> tuple[ArticleInfo, ...]:
    """Every recorded article, newest first, with the newest `mention_limit` mentions (None: all of them)."""
    mentions: dict[str, list[MentionInfo]] = defaultdict(list)
    for mention in load_mentions(session, mention_limit):
        mentions[mention.article_id].append(mention)
    editions: dict[str, list[EditionInfo]] = defaultdict(list)
    evidence: dict[str, tuple[list[dict[str, Any]], int]] = {}
    query = select(ArticleVersion.article_id, ArticleVersion.number, ArticleVersion.first_seen, ArticleVersion.words,
                   ArticleVersion.text.is_not(None), ArticleVersion.words_added, ArticleVersion.words_removed,
                   ArticleVersion.is_correction, ArticleVersion.corrections, ArticleVersion.flags,
                   ArticleVersion.evidence).order_by(ArticleVersion.article_id, ArticleVersion.number)
    for aid, number, first_seen, words, kept, added, removed, corrected, notices, flags, found in \
            session.execute(query):
        editions[aid].append(EditionInfo(number, first_seen, words, bool(kept), added, removed, bool(corrected),
                                         _corrections(notices), tuple(flags or ())))
        evidence[aid] = (list(found or []), words)
    rows = list(session.scalars(select(ArticleRow)))
    clusters: dict[int, list[ArticleRow]] = defaultdict(list)
    for row in rows:
        if row.cluster_id is not None:
            clusters[row.cluster_id].append(row)
    articles = []
    for row in rows:
        found, words = evidence.get(row.id, ([], 0))
        budget = QuoteBudget(words)
        mentioned = sorted(mentions.get(row.id, ()), key=lambda m: (not m.stale, _STANCE_ORDER.get(m.stance, 3)))
        published = {m.id for m in mentioned if budget.admit(m.quote.sentence)}
        copies = tuple(CopyInfo(c.id, c.outlet, c.title, c.canonical_url, c.first_seen, c.cluster_similarity)
                       for c in sorted(clusters.get(row.cluster_id or -1, []), key=lambda c: (c.first_seen, c.id))
                       if c.id != row.id)
        articles.append(ArticleInfo(
            id=row.id, url=row.canonical_url, title=row.title, outlet=row.outlet, outlet_type=row.outlet_type,
            news_source_id=row.news_source_id, language=row.language, author=row.author, published=row.published,
            published_at=row.published_at, modified=row.modified, first_seen=row.first_seen, status=row.status,
            tdm_reserved=bool(row.tdm_reserved), vendors=tuple(row.vendors or ()), topics=tuple(row.topics or ()),
            editions=tuple(editions.get(row.id, ())), quotes=quotes(found, words, budget=budget), copies=copies,
            mentions=tuple(m for m in mentions.get(row.id, ()) if m.id in published)))
    return tuple(sorted(articles, key=lambda a: (a.when, a.first_seen, a.id), reverse=True))
