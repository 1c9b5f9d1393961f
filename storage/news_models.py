"""The news record: declared news sources, the nightly reading of their feeds, what the feeds pointed at,
articles with their alias URLs, versions and fetches, and syndication clusters.

An article's id is the sha256 of its normalised canonical URL. Its full text
and raw bytes are private: the published site quotes only flagged sentences.
Under a publisher's TDM reservation a version keeps no text and no raw bytes,
only its metadata, the sha256 of its text (to tell editions apart), its
flagged sentences and correction notices, and its MinHash signature.

The claims work links article versions to claims in a table of its own
(mentions: claim, article version, sentence, span, stance, review), keyed by
``news_article_versions.id``; nothing here needs to change for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, UTCDateTime

# URLs longer than this are not recorded (and not fetched): real article URLs are far shorter.
MAX_URL_CHARS = 2048
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2000


class NewsSourceRow(Base):
    """A news source as last declared; kept after its declaration goes away."""

    __tablename__ = "news_sources"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ingest.news.declarations.NewsKind
    url: Mapped[Optional[str]] = mapped_column(Text)
    query: Mapped[Optional[str]] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    outlet: Mapped[str] = mapped_column(String(200))
    outlet_type: Mapped[str] = mapped_column(String(20))  # ingest.news.declarations.OutletType


class FeedFetch(Base):
    """One reading of a news source's feed, sitemap or GDELT query in one run. The bytes are not kept."""

    __tablename__ = "news_feed_fetches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    news_source_id: Mapped[str] = mapped_column(ForeignKey("news_sources.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[Optional[str]] = mapped_column(Text)
    http_status: Mapped[Optional[int]] = mapped_column(Integer)
    failure_kind: Mapped[Optional[str]] = mapped_column(String(40))  # storage.vocabulary.FailureKind; None: read
    detail: Mapped[Optional[str]] = mapped_column(Text)
    sha256: Mapped[Optional[str]] = mapped_column(String(64))  # of the bytes read
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    candidates: Mapped[int] = mapped_column(Integer, default=0)  # items kept after the per-document limit
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)  # what was cut, skipped or recovered


class Discovery(Base):
    """An item one news source pointed at: first and last night it was seen, what the feed said, what became
    of it. Items whose title and summary name no tracked vendor are not recorded."""

    __tablename__ = "news_discoveries"
    __table_args__ = (UniqueConstraint("news_source_id", "url_key", name="uq_news_discoveries_source_url_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    news_source_id: Mapped[str] = mapped_column(ForeignKey("news_sources.id"))
    url: Mapped[str] = mapped_column(String(MAX_URL_CHARS))  # as the feed gave it
    url_key: Mapped[str] = mapped_column(String(MAX_URL_CHARS), index=True)  # ingest.news.urls.candidate_key
    guid: Mapped[Optional[str]] = mapped_column(Text)
    # What the feed said; not kept for an item found off topic.
    title: Mapped[Optional[str]] = mapped_column(Text)
    summary: Mapped[Optional[str]] = mapped_column(Text)
    published: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    updated: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    first_fetch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("news_feed_fetches.id"))
    decision: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.DiscoveryDecision
    detail: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # nights its fetch failed
    article_id: Mapped[Optional[str]] = mapped_column(ForeignKey("news_articles.id"), index=True)


class SyndicationCluster(Base):
    """Articles whose texts are copies of each other (MinHash, 5-word shingles): shown together, each kept."""

    __tablename__ = "news_clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleRow(Base):
    __tablename__ = "news_articles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of canonical_url
    canonical_url: Mapped[str] = mapped_column(String(MAX_URL_CHARS), unique=True)
    news_source_id: Mapped[str] = mapped_column(ForeignKey("news_sources.id"))  # where it was first found
    outlet: Mapped[str] = mapped_column(String(200))
    outlet_type: Mapped[str] = mapped_column(String(20))
    language: Mapped[Optional[str]] = mapped_column(String(16))
    title: Mapped[Optional[str]] = mapped_column(Text)
    author: Mapped[Optional[str]] = mapped_column(Text)
    published: Mapped[Optional[str]] = mapped_column(String(40))  # as declared: a date, or a time with its offset
    published_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)  # the same, in UTC, for sorting
    modified: Mapped[Optional[str]] = mapped_column(String(40))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_checked: Mapped[datetime] = mapped_column(UTCDateTime)
    next_check: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)  # None: the schedule is done
    checks_done: Mapped[int] = mapped_column(Integer, default=0)  # re-fetches made so far
    status: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.ArticleStatus
    tdm_reserved: Mapped[bool] = mapped_column(Boolean, default=False)  # as of the latest readable fetch
    canonical_elsewhere: Mapped[Optional[str]] = mapped_column(String(MAX_URL_CHARS))  # a canonical on another site
    vendors: Mapped[list[str]] = mapped_column(JSON, default=list)  # named near a topic (analysis.relevance)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    cluster_id: Mapped[Optional[int]] = mapped_column(ForeignKey("news_clusters.id"), index=True)
    cluster_similarity: Mapped[Optional[float]] = mapped_column(Float)  # to the copy it joined the cluster by

    versions: Mapped[list["ArticleVersion"]] = relationship(back_populates="article",
                                                            order_by="ArticleVersion.number")


class ArticleAlias(Base):
    """Another normalised URL the article was met under (feed link, redirect, AMP edition, og:url)."""

    __tablename__ = "news_article_aliases"

    url: Mapped[str] = mapped_column(String(MAX_URL_CHARS), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("news_articles.id"), index=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleFetch(Base):
    """One fetch of an article page: a version, a confirmation of one, or a failure with its kind."""

    __tablename__ = "news_article_fetches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    article_id: Mapped[Optional[str]] = mapped_column(ForeignKey("news_articles.id"), index=True)
    discovery_id: Mapped[Optional[int]] = mapped_column(ForeignKey("news_discoveries.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.FetchReason
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[Optional[str]] = mapped_column(Text)
    http_status: Mapped[Optional[int]] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.ArticleOutcome
    failure_kind: Mapped[Optional[str]] = mapped_column(String(40))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    # The page as received (blobs), unless the publisher reserves text and data mining.
    raw_sha256: Mapped[Optional[str]] = mapped_column(ForeignKey("blobs.sha256"))
    version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("news_article_versions.id", use_alter=True))


class ArticleVersion(Base):
    """One edition of an article's text: a new one only when the extracted text differs."""

    __tablename__ = "news_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_news_article_versions_article_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("news_articles.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    fetch_id: Mapped[int] = mapped_column(ForeignKey("news_article_fetches.id"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_confirmed: Mapped[datetime] = mapped_column(UTCDateTime)
    sha256: Mapped[str] = mapped_column(String(64))  # of the extracted text, kept or not
    text: Mapped[Optional[str]] = mapped_column(Text)  # None under a TDM reservation
    tdm_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    words: Mapped[int] = mapped_column(Integer)
    title: Mapped[Optional[str]] = mapped_column(Text)
    published: Mapped[Optional[str]] = mapped_column(String(40))
    modified: Mapped[Optional[str]] = mapped_column(String(40))
    language: Mapped[Optional[str]] = mapped_column(String(16))
    # Against the previous version; None for the first, or when either text is not kept.
    words_added: Mapped[Optional[int]] = mapped_column(Integer)
    words_removed: Mapped[Optional[int]] = mapped_column(Integer)
    is_correction: Mapped[bool] = mapped_column(Boolean, default=False)  # a notice the previous version lacked
    corrections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # {where, marker, notice}
    # The flagged sentences (analysis.evidence.Evidence.to_json): what the site may quote.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    minhash: Mapped[Optional[bytes]] = mapped_column(LargeBinary)  # analysis.syndication.signature_bytes
    minhash_scheme: Mapped[Optional[str]] = mapped_column(String(20))

    article: Mapped[ArticleRow] = relationship(back_populates="versions")
    fetch: Mapped[ArticleFetch] = relationship(foreign_keys=[fetch_id])
