"""Tables of claim tracking: declarations, evidence intervals, states, status events, revisions.

They hold what ``analysis.claims`` computes from the recorded versions and
the declared claims, plus the bookkeeping that makes evaluation incremental
(``claim_sources``: how far each source's record has been evaluated) and
exact after the fact (``tracking_changes``: versions recorded under a changed
declaration, sources no longer declared). Same ``Base`` as the record's own
tables; the schema comes from ``alembic/versions/0006_claims.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime


class ClaimDeclarationRow(Base):
    """A claim as declared, one row per declaration that was evaluated; the current one has no ``removed_at``.

    ``fingerprint`` is ``Claim.fingerprint`` (what evaluation depends on),
    ``engine`` the fingerprint of the matching code and rules it was evaluated
    with; either changing means the claim's history is evaluated again.
    ``spec`` is ``Claim.to_json()``: what pages show, even after the claim
    leaves the claims files.
    """

    __tablename__ = "claim_declarations"
    __table_args__ = (Index("ix_claim_declarations_claim_id", "claim_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(64))
    declared_in: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class ClaimStateRow(Base):
    """A claim's current status (``analysis.claims.ClaimState``)."""

    __tablename__ = "claim_states"

    claim_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(30))  # analysis.claims.ClaimStatus
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(String(30))  # analysis.claims.Cause
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimEvidenceRow(Base):
    """One evidence interval (``analysis.claims.EvidenceInterval``): a sentence bearing on a claim, from its
    first to its last version, and how it ended.

    Unique by the interval's identity; the normalised sentence is kept as its
    sha256 (``key_sha256``), since a sentence can be longer than an index allows.
    """

    __tablename__ = "claim_evidence"
    __table_args__ = (
        UniqueConstraint("claim_id", "matcher_id", "source_id", "key_sha256", "first_version",
                         name="uq_claim_evidence_identity"),
        Index("ix_claim_evidence_claim_id", "claim_id"),
        Index("ix_claim_evidence_source_open", "source_id", "end_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200))
    matcher_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # analysis.claims.Role
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    language: Mapped[str] = mapped_column(String(16))
    key_sha256: Mapped[str] = mapped_column(String(64))
    sentence: Mapped[str] = mapped_column(Text)
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    reading: Mapped[dict[str, Any]] = mapped_column(JSON)
    expect_failures: Mapped[list[str]] = mapped_column(JSON)
    first_version: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_version: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_confirmed: Mapped[datetime] = mapped_column(UTCDateTime)
    end_reason: Mapped[Optional[str]] = mapped_column(String(30))  # analysis.claims.EndReason; None while open
    end_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    end_version: Mapped[Optional[int]] = mapped_column(Integer)
    successor: Mapped[Optional[str]] = mapped_column(Text)


class ClaimRevisionRow(Base):
    """A claim's history evaluated again: the claim was declared, its declaration or the matching engine
    changed, a full re-evaluation was asked for (what it found is recorded and shown, never announced), or a
    source in its scope gained history older than what it had been evaluated on (what it found is announced as
    the same history recorded in time order would have been; `storage.vocabulary.RevisionReason`)."""

    __tablename__ = "claim_revisions"
    __table_args__ = (Index("ix_claim_revisions_claim_id", "claim_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(30))  # storage.vocabulary.RevisionReason
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    fingerprint_before: Mapped[Optional[str]] = mapped_column(String(64))
    fingerprint_after: Mapped[str] = mapped_column(String(64))
    status_before: Mapped[Optional[str]] = mapped_column(String(30))
    status_after: Mapped[Optional[str]] = mapped_column(String(30))
    events_added: Mapped[int] = mapped_column(Integer, default=0)
    events_withdrawn: Mapped[int] = mapped_column(Integer, default=0)


class ClaimEventRow(Base):
    """A change of a claim's status (``analysis.claims.StatusEvent``) and the change of a document that caused it.

    Events are only appended. One that a revision no longer finds is kept with
    ``withdrawn_at`` (and the revision that withdrew it); one that only a
    revision found carries ``revision_id`` and ``reevaluated_at`` and is not
    announced, unless the revision read the vendor's history recorded late
    (``RevisionReason.EARLIER_HISTORY``). Notifications never send it.
    """

    __tablename__ = "claim_events"
    __table_args__ = (Index("ix_claim_events_claim_id", "claim_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    previous: Mapped[Optional[str]] = mapped_column(String(30))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[Optional[str]] = mapped_column(ForeignKey("sources.id"))
    version: Mapped[Optional[int]] = mapped_column(Integer)
    change_id: Mapped[Optional[int]] = mapped_column(ForeignKey("changes.id"))
    change_kind: Mapped[Optional[str]] = mapped_column(String(20))
    announce: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[list[str]] = mapped_column(JSON)
    added: Mapped[list[str]] = mapped_column(JSON)
    reevaluated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    revision_id: Mapped[Optional[int]] = mapped_column(ForeignKey("claim_revisions.id"))
    withdrawn_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[Optional[int]] = mapped_column(ForeignKey("claim_revisions.id"))


class ClaimErrorRow(Base):
    """A claim whose matching could not finish on one document (its time limit ran out); its evidence there
    was left as it was."""

    __tablename__ = "claim_errors"
    __table_args__ = (Index("ix_claim_errors_claim_id", "claim_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[Optional[int]] = mapped_column(Integer)
    matcher_id: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))


class ClaimSourceRow(Base):
    """How far a source's record has been evaluated for claims: the last version and fetch outcome handed to
    the engine, and the fingerprint of the declaration (URLs, selectors, language) they were recorded under."""

    __tablename__ = "claim_sources"

    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    outcome_id: Mapped[int] = mapped_column(Integer, default=0)
    tracking_fingerprint: Mapped[Optional[str]] = mapped_column(String(64))
    declared: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrackingChangeRow(Base):
    """A change in what is tracked of a source, as opposed to what the vendor wrote: the version first
    recorded under a changed declaration, or the source leaving (or re-entering) the declarations."""

    __tablename__ = "tracking_changes"
    __table_args__ = (Index("ix_tracking_changes_source_id", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))  # storage.vocabulary.TrackingKind
    version: Mapped[Optional[int]] = mapped_column(Integer)
    fingerprint_before: Mapped[Optional[str]] = mapped_column(String(64))
    fingerprint_after: Mapped[Optional[str]] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClaimEvaluationRow(Base):
    """One evaluation step: what it read and did, and how long it took."""

    __tablename__ = "claim_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.EvaluationKind
    sources: Mapped[int] = mapped_column(Integer, default=0)
    versions: Mapped[int] = mapped_column(Integer, default=0)
    claims_read: Mapped[list[str]] = mapped_column(JSON)
    events: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


META_ID = 1  # the one row of claim_meta, which a new database is created with


class ClaimMetaRow(Base):
    """One row: the digest of the claims files last synchronised, and the row every evaluation updates first,
    so that two commands never evaluate the same record at once (it serialises them on SQLite and PostgreSQL)."""

    __tablename__ = "claim_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claims_digest: Mapped[Optional[str]] = mapped_column(String(64))
    evaluated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
