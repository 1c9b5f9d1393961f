"""Reading mentions back with their article, and whether each is a stale repetition.

Staleness is read, not stored: the claim's status when the article was
published (or, without a declared date, first seen) comes from the claim's
recorded timeline, which a re-evaluation may revise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.claims import status_at
from analysis.claims.mentions import is_stale
from analysis.claims.vocabulary import ClaimStatus, Stance
from storage import claims_queries
from storage.mentions_models import MentionRow
from storage.news_models import ArticleRow, ArticleVersion
from storage.news_queries import appeared

MAX_LISTED = 10_000


@dataclass(frozen=True)
class MentionListing:
    mention: MentionRow
    article: ArticleRow
    version_number: int
    version_first_seen: datetime
    status_then: ClaimStatus | None  # the claim's status when the article appeared

    @property
    def appeared(self) -> datetime:
        """When the article appeared (`storage.news_queries.appeared`); without a declared time, when the version
        holding the mention was first seen."""
        return appeared(self.article.published_at, self.article.first_seen, self.version_first_seen)

    @property
    def stale(self) -> bool:
        return is_stale(self.mention.stance, self.status_then)

    @property
    def stance(self) -> Stance:
        return Stance(self.mention.stance)


def listings(session: Session, *, claim_id: str | None = None, article_id: str | None = None,
             version_ids: Iterable[int] | None = None, review: str | None = None, run_id: int | None = None,
             current_only: bool = False, limit: int | None = MAX_LISTED) -> list[MentionListing]:
    """Mentions with their article, the newest article first (then in text order); ``current_only``: those of
    each article's latest version."""
    query = (select(MentionRow, ArticleRow, ArticleVersion.number, ArticleVersion.first_seen)
             .join(ArticleRow, ArticleRow.id == MentionRow.article_id)
             .join(ArticleVersion, ArticleVersion.id == MentionRow.article_version_id))
    if claim_id is not None:
        query = query.where(MentionRow.claim_id == claim_id)
    if article_id is not None:
        query = query.where(MentionRow.article_id == article_id)
    if version_ids is not None:
        query = query.where(MentionRow.article_version_id.in_(list(version_ids)))
    if review is not None:
        query = query.where(MentionRow.review == review)
    if run_id is not None:
        query = query.where(MentionRow.run_id == run_id)
    if current_only:
        latest = (select(ArticleVersion.article_id, func.max(ArticleVersion.number).label("number"))
                  .group_by(ArticleVersion.article_id).subquery())
        query = query.join(latest, (latest.c.article_id == ArticleVersion.article_id)
                           & (latest.c.number == ArticleVersion.number))
    rows = session.execute(query.order_by(ArticleVersion.first_seen.desc(), MentionRow.article_id,
                                          MentionRow.article_version_id, MentionRow.sentence_index,
                                          MentionRow.claim_id).limit(limit)).all()
    timelines = {cid: [r.event for r in claims_queries.events(session, cid)]
                 for cid in {m.claim_id for m, *_ in rows}}
    out = []
    for mention, article, number, first_seen in rows:
        event = status_at(timelines[mention.claim_id], appeared(article.published_at, article.first_seen, first_seen))
        out.append(MentionListing(mention, article, number, first_seen, event.status if event else None))
    out.sort(key=lambda m: m.appeared, reverse=True)
    return out


def article_ids_for_claim(session: Session, claim_id: str) -> list[str]:
    return list(session.scalars(select(MentionRow.article_id).where(MentionRow.claim_id == claim_id).distinct()))
