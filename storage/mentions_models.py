"""Mentions: the sentences of article versions that mention a claim, with their stance and a reader's review.

A mention belongs to one article version (``news_article_versions.id``) and
one claim id (a plain id: a claim may leave the declarations while its
coverage stays on record). The sentence is kept even when the version's text
is not (TDM reservation): it is what the site may quote. ``mention_scans``
remembers, per claim, the fingerprint of the vocabulary its stored mentions
were found with (``analysis.claims.mentions.mention_fingerprint``): a claim
whose fingerprint differs has its stored articles read again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("claim_id", "article_version_id", "sentence_index",
                                       name="uq_mentions_claim_id_article_version_id_sentence_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200), index=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("news_articles.id"), index=True)
    article_version_id: Mapped[int] = mapped_column(ForeignKey("news_article_versions.id"), index=True)
    sentence_index: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[str] = mapped_column(Text)
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    stance: Mapped[str] = mapped_column(String(20))  # analysis.claims.vocabulary.Stance
    cue: Mapped[Optional[str]] = mapped_column(Text)  # the words that decided the stance
    review: Mapped[str] = mapped_column(String(20))  # analysis.claims.vocabulary.MentionReview
    reviewed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))  # the news run that found it, if any


class MentionScanRow(Base):
    __tablename__ = "mention_scans"

    claim_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
