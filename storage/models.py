"""Typed SQLAlchemy 2 models. The schema itself is created only by Alembic.

All times are stored as UTC. SQLite has no time zones, so they are written
naive and read back with UTC attached (see ``UTCDateTime``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.source_fields import SourceFields  # noqa: F401  (where the record's other layers import it from)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


REMEMBERED_TIMES = 256  # times whose stored form each `UTCDateTime` column keeps, for each engine's dialect


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: policywatch stores aware UTC times only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def bind_processor(self, dialect: Any) -> Any:
        # A night writes the same few times on many rows (its time on every outcome, version and evidence row
        # of the night): the form a time is stored in is remembered for the times most recently written, and
        # converting one again (to UTC, then, on SQLite, to text) is spared. Only times with a fixed offset
        # (`datetime.timezone`, as every time policywatch makes has) are remembered: two of them are equal only
        # when they are one instant. Two times in a zone with daylight saving are equal on the same wall clock
        # even when `fold` makes them an hour apart, so they are converted every time, as naive times are (they
        # raise).
        process = super().bind_processor(dialect)
        assert process is not None  # SQLAlchemy always gives one where `process_bind_param` is defined
        remembered = lru_cache(maxsize=REMEMBERED_TIMES)(process)

        def bind(value: Optional[datetime]) -> Any:
            if value is None:
                return None
            if type(value) is datetime and type(value.tzinfo) is timezone:
                return remembered(value)
            return process(value)

        return bind

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceRow(Base):
    """A tracked document as last declared; kept after its declaration goes away."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    document_type: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    urls: Mapped[list[str]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    versions: Mapped[list["Version"]] = relationship(back_populates="source", order_by="Version.number")

    def fields(self) -> SourceFields:
        return SourceFields(id=self.id, vendor=self.vendor, title=self.title, document_type=self.document_type,
                            language=self.language, urls=tuple(self.urls or ()), tags=tuple(self.tags or ()))


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.RunKind
    status: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.RunStatus
    # The record's times: a crawl's own clock, an import's first and last entry (the dates of its files).
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # When the run was performed, by the clock of the machine that ran it (for a crawl, its started_at and
    # finished_at). None for an import recorded before schema 0017, and an end for a run that never finished.
    performed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    performed_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    pid: Mapped[Optional[int]] = mapped_column(Integer)
    host: Mapped[Optional[str]] = mapped_column(String(255))
    # Server defaults here and below: those the migrations gave columns that tables with rows received, so that a
    # new database, created from these models, is the one the migrations build.
    sources_checked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    new_versions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The process coordinating a distributed night: the run lives while that process's heartbeat does.
    worker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("workers.id"))

    outcomes: Mapped[list["FetchOutcome"]] = relationship(back_populates="run")


class Blob(Base):
    """Raw bytes addressed by sha256, zstd-compressed, optionally against a base blob.

    `base_sha256` names the keyframe it was compressed against; a keyframe
    has none, so reading any blob needs at most two decompressions.
    """

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    base_sha256: Mapped[Optional[str]] = mapped_column(ForeignKey("blobs.sha256"))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class FetchOutcome(Base):
    """What happened to one source in one run (or one imported entry)."""

    __tablename__ = "fetch_outcomes"
    # By version and time: how often a version was confirmed, and its latest confirmations (the version pages).
    __table_args__ = (Index("ix_fetch_outcomes_source_at", "source_id", "at"),
                      Index("ix_fetch_outcomes_version_at", "version_id", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.Outcome
    failure_kind: Mapped[Optional[str]] = mapped_column(String(40))  # storage.vocabulary.FailureKind
    detail: Mapped[Optional[str]] = mapped_column(Text)
    http_status: Mapped[Optional[int]] = mapped_column(Integer)
    url: Mapped[Optional[str]] = mapped_column(Text)
    version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("versions.id", use_alter=True))
    # sha256 of a text the guard refused (too_short) or held (pending); the text itself is in `held_texts`.
    text_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    # The worker that recorded it, in a distributed night.
    worker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("workers.id"))

    run: Mapped[Run] = relationship(back_populates="outcomes")
    snapshots: Mapped[list["Snapshot"]] = relationship(back_populates="outcome", order_by="Snapshot.position")
    version: Mapped[Optional["Version"]] = relationship(foreign_keys=[version_id])


class Snapshot(Base):
    """One fetched page: a document combined from several URLs has one per URL.

    The pages of a failed outcome are kept too (refused snapshots): they never
    become versions, but show what was refused and can be judged again.
    """

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_source_at", "source_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("fetch_outcomes.id"), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    http_status: Mapped[Optional[int]] = mapped_column(Integer)
    content_type: Mapped[Optional[str]] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    # The key of the part extraction selected (ingest.extraction.Selection.key): a later page with the same
    # key has the same text. None when not known (imports of text files, re-derivations, older records).
    content_key: Mapped[Optional[str]] = mapped_column(String(64))

    outcome: Mapped[FetchOutcome] = relationship(back_populates="snapshots")
    blob: Mapped[Blob] = relationship()



class VersionText(Base):
    """A version's normalised text, addressed by the sha256 of its UTF-8 bytes and zstd-compressed.

    Like raw pages (`Blob`), a text is compressed against a keyframe: an
    earlier text of the same source stored on its own (`base_sha256` is None),
    which zstd compressed it against, so reading any text decompresses at most
    two. Read and written only through `storage.texts`.
    """

    __tablename__ = "version_texts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # UTF-8 bytes
    chars: Mapped[int] = mapped_column(Integer)
    base_sha256: Mapped[Optional[str]] = mapped_column(ForeignKey("version_texts.sha256"))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Version(Base):
    """One distinct text of a source; the text itself is in `version_texts` (`storage.texts` reads it)."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("source_id", "number", name="uq_versions_source_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # Names the text in `version_texts` (not a declared foreign key: SQLite could add one only by rebuilding this
    # table, which the rows pointing at it forbid; `policywatch check` finds a version whose text is missing).
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_confirmed: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("fetch_outcomes.id"))

    source: Mapped[SourceRow] = relationship(back_populates="versions")
    outcome: Mapped[FetchOutcome] = relationship(foreign_keys=[outcome_id])


class Change(Base):
    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), unique=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    words_added: Mapped[int] = mapped_column(Integer)
    words_removed: Mapped[int] = mapped_column(Integer)
    lines_added: Mapped[int] = mapped_column(Integer)
    lines_removed: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # analysis.vocabulary.ChangeKind
    reverts_to_version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("versions.id"))
    # What the change means in flagged terms (analysis.meaning.analyse_change); `reanalyse` may replace it.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # analysis.vocabulary.Severity
    severity: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # False when the flagger did not (fully) analyse the change; `analysis_note` says why ("not analysed: …",
    # "analysis incomplete: …").
    analysed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    analysis_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Decided once, when the change is detected (analysis.vocabulary.is_announced), and never by a re-analysis:
    # whether feeds announce it, and under which flags.
    announced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    announced_flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    # Why the change was recorded other than by the guard alone: a held capture confirmed by a later fetch,
    # or a refused text accepted on review, with the reviewer's words.
    note: Mapped[Optional[str]] = mapped_column(Text)

    from_version: Mapped[Version] = relationship(foreign_keys=[from_version_id])
    to_version: Mapped[Version] = relationship(foreign_keys=[to_version_id])
    previous_analyses: Mapped[list["ChangeAnalysisRow"]] = relationship(
        order_by="ChangeAnalysisRow.id", lazy="selectin", viewonly=True)


class ChangeAnalysisRow(Base):
    """An analysis a change had before `reanalyse` replaced it, oldest first per change."""

    __tablename__ = "change_analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))  # the re-analysis that replaced it
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    words_added: Mapped[int] = mapped_column(Integer)
    words_removed: Mapped[int] = mapped_column(Integer)
    lines_added: Mapped[int] = mapped_column(Integer)
    lines_removed: Mapped[int] = mapped_column(Integer)
    analysed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    analysis_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class HeldText(Base):
    """A text that did not become a version when it was fetched: refused (too_short) or held (pending).

    Kept by sha256, once however often it was fetched, so that a later fetch
    can confirm it and `policywatch review` can show and accept it.
    """

    __tablename__ = "held_texts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class SourceLock(Base):
    """A writer that must not be interleaved with others on one source: an import appending its history.

    A crawl waits while another run holds the source; a lock whose process is
    gone counts as released.
    """

    __tablename__ = "source_locks"

    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    pid: Mapped[Optional[int]] = mapped_column(Integer)
    host: Mapped[Optional[str]] = mapped_column(String(255))
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class Worker(Base):
    """A process taking part in distributed nights: a `policywatch worker`, or the coordinating
    `policywatch run --distributed`. It counts as gone once its heartbeat is older than its `stalled_after`."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_heartbeat: Mapped[datetime] = mapped_column(UTCDateTime)
    stalled_after: Mapped[float] = mapped_column(Float)
    stopped_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class NightJob(Base):
    """One domain's share of a distributed night: which sources, which queue, and who fetched them."""

    __tablename__ = "night_jobs"
    __table_args__ = (UniqueConstraint("run_id", "domain", "region", name="uq_night_jobs_run_domain_region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    domain: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(32), default="")
    queue: Mapped[str] = mapped_column(String(128))
    source_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.JobStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The worker holding (or that last held) the job; its attempt number fences off a worker that lost it.
    worker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("workers.id"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    detail: Mapped[Optional[str]] = mapped_column(Text)


class LedgerEntry(Base):
    """One entry of the append-only log that chains every version (storage.ledger): never updated or deleted.

    `first_seen` is kept as the exact text that was hashed, so the entry's hash can be recomputed from the
    row alone, whatever the database does to times.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("kind", "subject", "number", name="uq_ledger_entries_kind_subject_number"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10))  # storage.ledger.EntryKind
    subject: Mapped[str] = mapped_column(String(200))  # a source id, or an article id
    number: Mapped[int] = mapped_column(Integer)
    text_sha256: Mapped[str] = mapped_column(String(64))
    snapshots: Mapped[list[str]] = mapped_column(JSON, default=list)  # sha256 of each raw page, in order
    first_seen: Mapped[str] = mapped_column(String(20))
    prev_subject: Mapped[Optional[str]] = mapped_column(String(64))
    prev: Mapped[Optional[str]] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
