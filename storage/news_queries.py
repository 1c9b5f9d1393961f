"""Read-only questions asked of the news record (the news night, the CLI, the report)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from storage.news_models import ArticleAlias, ArticleFetch, ArticleRow, ArticleVersion, Discovery
from storage.queries import NotFound
from storage.vocabulary import DiscoveryDecision

MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")
# SQLite allows 999 bound parameters in older builds: look keys up in batches below that.
_BATCH = 500


@dataclass(frozen=True)
class Known:
    """What the record knows of a URL: the article it names, or what became of it when it was fetched."""

    article_id: str | None
    decision: str  # storage.vocabulary.DiscoveryDecision
    attempts: int = 0


def _batches(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _settled(decision: str, attempts: int) -> tuple[int, int]:
    """Orders what several news sources recorded for one URL: a final decision over failed attempts."""
    return (0 if decision == DiscoveryDecision.FAILED else 1, attempts)


def known_urls(session: Session, keys: Iterable[str]) -> dict[str, Known]:
    """For each normalised URL: the article whose canonical URL or alias it is, else the decision recorded
    for it by any news source (off topic, failed so many times, abandoned)."""
    wanted = sorted(set(keys))
    found: dict[str, Known] = {}
    for batch in _batches(wanted):
        for url, article_id in session.execute(select(ArticleRow.canonical_url, ArticleRow.id)
                                               .where(ArticleRow.canonical_url.in_(batch))):
            found[url] = Known(article_id, DiscoveryDecision.ARTICLE)
        for url, article_id in session.execute(select(ArticleAlias.url, ArticleAlias.article_id)
                                               .where(ArticleAlias.url.in_(batch))):
            found.setdefault(url, Known(article_id, DiscoveryDecision.ARTICLE))
        rows = session.execute(select(Discovery.url_key, Discovery.decision, Discovery.attempts, Discovery.article_id)
                               .where(Discovery.url_key.in_(batch)))
        for url, decision, attempts, article_id in rows:
            if url in found and found[url].article_id is not None:
                continue
            if article_id is not None:
                found[url] = Known(article_id, DiscoveryDecision.ARTICLE)
                continue
            previous = found.get(url)
            if previous is None or _settled(decision, attempts) > _settled(previous.decision, previous.attempts):
                found[url] = Known(None, decision, attempts)
    return found


def due_articles(session: Session, at: datetime, limit: int) -> Sequence[ArticleRow]:
    """Articles whose next check is due at `at`, the most overdue first."""
    return session.scalars(select(ArticleRow).where(ArticleRow.next_check.is_not(None), ArticleRow.next_check <= at)
                           .order_by(ArticleRow.next_check, ArticleRow.id).limit(limit)).all()


def latest_versions(session: Session, article_ids: Iterable[str] | None = None) -> dict[str, ArticleVersion]:
    """The newest version of each article (of those named, or of all)."""
    newest = (select(ArticleVersion.article_id, func.max(ArticleVersion.number).label("number"))
              .group_by(ArticleVersion.article_id))
    if article_ids is not None:
        newest = newest.where(ArticleVersion.article_id.in_(list(article_ids)))
    sub = newest.subquery()
    query = select(ArticleVersion).join(sub, (ArticleVersion.article_id == sub.c.article_id)
                                        & (ArticleVersion.number == sub.c.number))
    return {v.article_id: v for v in session.scalars(query)}


def signatures_since(session: Session, since: datetime) -> list[tuple[str, bytes, str]]:
    """(article id, MinHash bytes, scheme) of the newest version of every article first seen since `since`."""
    recent = select(ArticleRow.id).where(ArticleRow.first_seen >= since)
    newest = (select(ArticleVersion.article_id, func.max(ArticleVersion.number).label("number"))
              .where(ArticleVersion.article_id.in_(recent)).group_by(ArticleVersion.article_id).subquery())
    rows = session.execute(select(ArticleVersion.article_id, ArticleVersion.minhash, ArticleVersion.minhash_scheme)
                           .join(newest, (ArticleVersion.article_id == newest.c.article_id)
                                 & (ArticleVersion.number == newest.c.number))
                           .where(ArticleVersion.minhash.is_not(None)))
    return [(aid, bytes(data), scheme or "") for aid, data, scheme in rows]


def article_by_url(session: Session, url: str) -> ArticleRow | None:
    row = session.scalars(select(ArticleRow).where(ArticleRow.canonical_url == url)).first()
    if row is not None:
        return row
    alias = session.get(ArticleAlias, url)
    return session.get(ArticleRow, alias.article_id) if alias is not None else None


def find_article(session: Session, reference: str) -> ArticleRow:
    """An article by its id or a unique prefix of it (at least 4 hexadecimal characters)."""
    prefix = reference.strip().lower()
    if len(prefix) < MIN_PREFIX or not _HEX.match(prefix):
        raise NotFound(f"{reference!r} is not an article id: give the id `policywatch articles` prints, or at least "
                       f"its first {MIN_PREFIX} characters")
    matches = session.scalars(select(ArticleRow).where(ArticleRow.id.like(prefix + "%"))
                              .order_by(ArticleRow.id).limit(6)).all()
    if not matches:
        total = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
        hint = f"{total} article(s) are recorded" if total else "no article is recorded yet"
        raise NotFound(f"no article id starts with {prefix!r} ({hint})")
    if len(matches) > 1:
        shown = ", ".join(m.id[:12] for m in matches[:5])
        raise NotFound(f"{prefix!r} is the start of more than one article id ({shown}…): give more characters")
    return matches[0]


def article_versions(session: Session, article_id: str) -> Sequence[ArticleVersion]:
    return session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                           .order_by(ArticleVersion.number)).all()


def article_fetches(session: Session, article_id: str) -> Sequence[ArticleFetch]:
    return session.scalars(select(ArticleFetch).where(ArticleFetch.article_id == article_id)
                           .order_by(ArticleFetch.at, ArticleFetch.id)).all()


def aliases_of(session: Session, article_id: str) -> list[str]:
    return list(session.scalars(select(ArticleAlias.url).where(ArticleAlias.article_id == article_id)
                                .order_by(ArticleAlias.url)))


def cluster_members(session: Session, cluster_id: int | None) -> Sequence[ArticleRow]:
    if cluster_id is None:
        return ()
    return session.scalars(select(ArticleRow).where(ArticleRow.cluster_id == cluster_id)
                           .order_by(ArticleRow.first_seen, ArticleRow.id)).all()


def discoveries_of(session: Session, article_id: str) -> Sequence[Discovery]:
    return session.scalars(select(Discovery).where(Discovery.article_id == article_id)
                           .order_by(Discovery.first_seen, Discovery.id)).all()


def appeared(published_at: datetime | None, first_seen: datetime, without: datetime | None = None) -> datetime:
    """When an article appeared: its declared publication time, never later than the article was first seen (a
    page fetched before the time it declares existed then: its date is wrong, or in another zone); without a
    declared time, `without` when given, else when it was first seen."""
    if published_at is None:
        return without if without is not None else first_seen
    return min(published_at, first_seen)


def all_articles(session: Session, since: datetime | None = None) -> Sequence[ArticleRow]:
    """Articles newest first (by publication, else first seen); `since` keeps those first seen or published
    since then."""
    query = select(ArticleRow)
    if since is not None:
        query = query.where((ArticleRow.first_seen >= since) | (ArticleRow.published_at >= since))
    rows = list(session.scalars(query))
    # In the order of the dates the list shows: the declared publication, else the first sighting.
    return sorted(rows, key=lambda a: (a.published_at or a.first_seen, a.first_seen, a.id), reverse=True)


@dataclass(frozen=True)
class ArticleListing:
    """An article with what a list shows of it: its newest version's flags, its versions and corrections."""

    article: ArticleRow
    latest: ArticleVersion | None
    versions: int
    corrections: int

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(self.latest.flags or ()) if self.latest is not None else ()


def listings(session: Session, since: datetime | None = None) -> list[ArticleListing]:
    """Every article (first seen or published since `since`), newest first, with its newest version."""
    rows = all_articles(session, since)
    counts = {aid: (n, c) for aid, n, c in session.execute(
        select(ArticleVersion.article_id, func.count(),
               func.sum(func.coalesce(ArticleVersion.is_correction.cast(Integer), 0)))
        .group_by(ArticleVersion.article_id))}
    latest = latest_versions(session, None if since is None else [r.id for r in rows])
    return [ArticleListing(row, latest.get(row.id), *(int(x or 0) for x in counts.get(row.id, (0, 0))))
            for row in rows]
