"""What the Coverage pages and feed show, read from the news record.

Only what may be published is read out: an article's metadata, its
versions' dates, sizes, flags and correction notices, its flagged sentences
as quotations (``analysis.quotes``) and its syndicated copies. Article texts
and raw pages are never loaded here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.quotes import Quote, quotes
from storage.news_models import ArticleRow, ArticleVersion
from storage.vocabulary import ArticleStatus

MAX_NOTICE_CHARS = 600


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
        """When it appeared: its declared publication, else when it was first seen."""
        return self.published_at or self.first_seen


def _corrections(items: Any) -> tuple[Correction, ...]:
    found = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("notice"), str):
            found.append(Correction(str(item.get("marker") or "Correction"), item["notice"][:MAX_NOTICE_CHARS]))
    return tuple(found)


def load_coverage(session: Session) -> tuple[ArticleInfo, ...]:
    """Every recorded article, newest first."""
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
        copies = tuple(CopyInfo(c.id, c.outlet, c.title, c.canonical_url, c.first_seen, c.cluster_similarity)
                       for c in sorted(clusters.get(row.cluster_id or -1, []), key=lambda c: (c.first_seen, c.id))
                       if c.id != row.id)
        articles.append(ArticleInfo(
            id=row.id, url=row.canonical_url, title=row.title, outlet=row.outlet, outlet_type=row.outlet_type,
            news_source_id=row.news_source_id, language=row.language, author=row.author, published=row.published,
            published_at=row.published_at, modified=row.modified, first_seen=row.first_seen, status=row.status,
            tdm_reserved=bool(row.tdm_reserved), vendors=tuple(row.vendors or ()), topics=tuple(row.topics or ()),
            editions=tuple(editions.get(row.id, ())), quotes=quotes(*evidence.get(row.id, ([], 0))), copies=copies))
    return tuple(sorted(articles, key=lambda a: (a.when, a.first_seen, a.id), reverse=True))
