"""Recording the news night: news sources, feed readings, discoveries, articles, their fetches and versions,
syndication clusters and the run's counts.

Storage only stores. Whether a page is an article, what its text means
(flags, corrections, the diff), when to fetch it again and which cluster it
joins are decided in ``ingest.news`` and handed over here. Each feed reading
and each article page is recorded in its own transaction by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import blobs, ledger
from storage.models import Run
from storage.news_models import (MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, ArticleAlias, ArticleFetch, ArticleRow,
                                 ArticleVersion, Discovery, FeedFetch, NewsSourceRow, SyndicationCluster)
from storage.vocabulary import ArticleOutcome, ArticleStatus, DiscoveryDecision, RunStatus


@dataclass(frozen=True)
class NewsSourceFields:
    id: str
    kind: str
    language: str
    outlet: str
    outlet_type: str
    url: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class FeedReading:
    """One reading of a news source's document, as the caller worked it out."""

    news_source_id: str
    url: str
    final_url: str | None
    http_status: int | None
    failure_kind: str | None = None
    detail: str | None = None
    sha256: str | None = None
    items_seen: int = 0
    candidates: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sighting:
    """An item as a feed gave it."""

    url: str
    url_key: str
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    published: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class ArticleFields:
    """What an article is, as of its latest readable fetch (or, for a walled page, what its feed said)."""

    id: str
    canonical_url: str
    news_source_id: str
    outlet: str
    outlet_type: str
    language: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    published_at: datetime | None = None
    modified: str | None = None
    tdm_reserved: bool = False
    canonical_elsewhere: str | None = None
    vendors: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class EditionFacts:
    """One readable fetch of an article, with what ingest made of its text."""

    sha256: str  # of the extracted text
    text: str | None  # None under a TDM reservation
    tdm_reserved: bool
    words: int
    title: str | None = None
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    words_added: int | None = None
    words_removed: int | None = None
    is_correction: bool = False
    corrections: tuple[dict[str, Any], ...] = ()
    flags: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()
    minhash: bytes | None = None
    minhash_scheme: str | None = None


@dataclass(frozen=True)
class PageFetch:
    """One article page fetch: where, what came back, and the raw bytes when they may be kept."""

    url: str
    reason: str
    final_url: str | None = None
    http_status: int | None = None
    raw: bytes | None = None
    failure_kind: str | None = None
    detail: str | None = None
    notes: tuple[str, ...] = field(default=())


def _cap(text: str | None, limit: int) -> str | None:
    return text[:limit] if text else None


def upsert_news_source(session: Session, source: NewsSourceFields) -> NewsSourceRow:
    row = session.get(NewsSourceRow, source.id)
    if row is None:
        row = NewsSourceRow(id=source.id)
        session.add(row)
    row.kind, row.url, row.query = source.kind, source.url, source.query
    row.language, row.outlet, row.outlet_type = source.language, source.outlet, source.outlet_type
    session.flush()
    return row


def record_feed_fetch(session: Session, *, run_id: int, at: datetime, reading: FeedReading) -> FeedFetch:
    row = FeedFetch(run_id=run_id, news_source_id=reading.news_source_id, at=at, url=reading.url,
                    final_url=reading.final_url, http_status=reading.http_status, failure_kind=reading.failure_kind,
                    detail=reading.detail, sha256=reading.sha256, items_seen=reading.items_seen,
                    candidates=reading.candidates, notes=list(reading.notes))
    session.add(row)
    session.flush()
    return row


def latest_feed_fetch(session: Session, run_id: int, news_source_id: str) -> FeedFetch | None:
    return session.scalars(select(FeedFetch).where(FeedFetch.run_id == run_id,
                                                   FeedFetch.news_source_id == news_source_id)
                           .order_by(FeedFetch.id.desc()).limit(1)).first()


def record_discovery(session: Session, *, news_source_id: str, at: datetime, sighting: Sighting, decision: str,
                     fetch_id: int | None = None, article_id: str | None = None, detail: str | None = None,
                     failed: bool = False) -> Discovery:
    """Record (or update) what a news source pointed at and what became of it.

    An item found off topic keeps its URL only, never what the feed said of it.
    """
    row = session.scalars(select(Discovery).where(Discovery.news_source_id == news_source_id,
                                                  Discovery.url_key == sighting.url_key)).first()
    if row is None:
        row = Discovery(news_source_id=news_source_id, url=sighting.url, url_key=sighting.url_key, first_seen=at,
                        last_seen=at, first_fetch_id=fetch_id, attempts=0, decision=decision)
        session.add(row)
    keep_text = decision != DiscoveryDecision.OFF_TOPIC
    row.guid = sighting.guid or row.guid
    row.title = _cap(sighting.title, MAX_TITLE_CHARS) if keep_text else None
    row.summary = _cap(sighting.summary, MAX_SUMMARY_CHARS) if keep_text else None
    row.published = sighting.published or row.published
    row.updated = sighting.updated or row.updated
    row.last_seen = max(row.last_seen, at)
    row.decision, row.detail = decision, detail
    row.article_id = article_id or row.article_id
    if failed:
        row.attempts += 1
    session.flush()
    return row


def upsert_article(session: Session, fields: ArticleFields, *, at: datetime, status: str) -> ArticleRow:
    """Create the article, or bring its description up to date; its schedule is set by `schedule`."""
    row = session.get(ArticleRow, fields.id)
    if row is None:
        row = ArticleRow(id=fields.id, canonical_url=fields.canonical_url, news_source_id=fields.news_source_id,
                         outlet=fields.outlet, outlet_type=fields.outlet_type, first_seen=at, last_checked=at,
                         checks_done=0, vendors=[], topics=[])
        session.add(row)
    for name in ("language", "title", "author", "published", "published_at", "modified", "canonical_elsewhere"):
        value = getattr(fields, name)
        if value is not None:
            setattr(row, name, value)
    if status == ArticleStatus.READABLE or row.tdm_reserved is None:
        row.tdm_reserved = fields.tdm_reserved
    if fields.vendors:
        row.vendors = list(fields.vendors)
    if fields.topics:
        row.topics = list(fields.topics)
    row.status = status
    session.flush()
    return row


def add_aliases(session: Session, article_id: str, urls: Iterable[str], at: datetime) -> None:
    """Keep every other URL the article was met under; a URL already known for any article stays with it."""
    for url in dict.fromkeys(urls):
        if session.get(ArticleAlias, url) is None and session.scalar(
                select(ArticleRow.id).where(ArticleRow.canonical_url == url)) is None:
            session.add(ArticleAlias(url=url, article_id=article_id, first_seen=at))
    session.flush()


def schedule(session: Session, article_id: str, *, checked_at: datetime, next_check: datetime | None,
             checks_done: int) -> None:
    row = session.get_one(ArticleRow, article_id)
    row.last_checked = max(row.last_checked, checked_at)
    row.next_check, row.checks_done = next_check, checks_done
    session.flush()


def current_article_version(session: Session, article_id: str) -> ArticleVersion | None:
    return session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                           .order_by(ArticleVersion.number.desc()).limit(1)).first()


def _keyframe(session: Session, article_id: str | None) -> str | None:
    if article_id is None:
        return None
    last = session.scalar(select(ArticleFetch.raw_sha256).where(ArticleFetch.article_id == article_id,
                                                                ArticleFetch.raw_sha256.is_not(None))
                          .order_by(ArticleFetch.id.desc()).limit(1))
    return blobs.keyframe_of(session, last) if last else None


def record_article_fetch(session: Session, *, run_id: int, at: datetime, fetch: PageFetch,
                         article_id: str | None = None, discovery_id: int | None = None,
                         edition: EditionFacts | None = None, off_topic: bool = False) -> ArticleFetch:
    """Keep the fetch (and its raw bytes when given); with an edition, confirm the current version when the
    text is the same, else add the next version. An off-topic page is logged as fetched, nothing more."""
    raw_sha = blobs.store(session, fetch.raw, _keyframe(session, article_id)).sha256 if fetch.raw is not None else None
    outcome = (ArticleOutcome.OFF_TOPIC if off_topic else
               ArticleOutcome.FAILED if edition is None else ArticleOutcome.UNCHANGED)
    row = ArticleFetch(run_id=run_id, article_id=article_id, discovery_id=discovery_id, at=at, reason=fetch.reason,
                       url=fetch.url, final_url=fetch.final_url, http_status=fetch.http_status, outcome=outcome,
                       failure_kind=fetch.failure_kind, detail=fetch.detail, raw_sha256=raw_sha)
    session.add(row)
    session.flush()
    if edition is None or article_id is None or off_topic:
        return row
    current = current_article_version(session, article_id)
    if current is not None and current.sha256 == edition.sha256:
        current.last_confirmed = max(current.last_confirmed, at)
        row.version_id = current.id
        session.flush()
        return row
    version = ArticleVersion(
        article_id=article_id, number=(current.number + 1) if current else 1, fetch_id=row.id, first_seen=at,
        last_confirmed=at, sha256=edition.sha256, text=edition.text, tdm_reserved=edition.tdm_reserved,
        words=edition.words, title=edition.title, published=edition.published, modified=edition.modified,
        language=edition.language, words_added=edition.words_added, words_removed=edition.words_removed,
        is_correction=edition.is_correction, corrections=list(edition.corrections), flags=list(edition.flags),
        evidence=list(edition.evidence), minhash=edition.minhash, minhash_scheme=edition.minhash_scheme)
    session.add(version)
    session.flush()
    ledger.append_article_version(session, version, row)
    row.version_id = version.id
    row.outcome = ArticleOutcome.CHANGED if current is not None else ArticleOutcome.FIRST
    session.flush()
    return row


def join_cluster(session: Session, article_id: str, copy_of: str, similarity: float, at: datetime) -> int:
    """Put the article in the cluster of the article it copies (a new cluster for both if that one has none)."""
    other = session.get_one(ArticleRow, copy_of)
    if other.cluster_id is None:
        cluster = SyndicationCluster(first_seen=at)
        session.add(cluster)
        session.flush()
        other.cluster_id = cluster.id
    row = session.get_one(ArticleRow, article_id)
    row.cluster_id, row.cluster_similarity = other.cluster_id, similarity
    session.flush()
    return other.cluster_id


def finish_news_run(session: Session, run_id: int, at: datetime) -> Run:
    """A news run's counts: news sources read, new article versions, new editions of known articles, and the
    news sources with a document that could not be read (walled or failed article pages are outcomes of
    their own, not failures of the run)."""
    run = session.get_one(Run, run_id)
    failed: dict[str, bool] = {}
    for source_id, kind in session.execute(select(FeedFetch.news_source_id, FeedFetch.failure_kind)
                                           .where(FeedFetch.run_id == run_id)):
        failed[source_id] = failed.get(source_id, False) or kind is not None
    outcomes = dict(session.execute(
        select(ArticleFetch.outcome, func.count()).where(ArticleFetch.run_id == run_id)
        .group_by(ArticleFetch.outcome)).all())
    run.sources_checked = len(failed)
    run.failures = sum(failed.values())
    run.new_versions = outcomes.get(ArticleOutcome.FIRST, 0) + outcomes.get(ArticleOutcome.CHANGED, 0)
    run.changes = outcomes.get(ArticleOutcome.CHANGED, 0)
    run.finished_at = run.performed_until = at  # a news run records at its own clock
    if run.sources_checked and run.failures == run.sources_checked:
        run.status = RunStatus.FAILED
    elif run.failures:
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.OK
    return run
