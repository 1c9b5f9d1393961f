"""Read-only questions asked of the record (CLI, reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from storage.models import Change, FetchOutcome, Run, Snapshot, SourceFields, SourceRow, Version
from storage.news_models import ArticleFetch
from storage.reader import NotFound as NotFound  # one class for every reader's "no such thing"
from storage.times import utc_text
from storage.vocabulary import CHECKING_RUN_KINDS, RunKind

# The runs that fetched a source's pages themselves, as opposed to an import of pages saved by someone else.
FETCHING_RUN_KINDS = tuple(kind for kind in CHECKING_RUN_KINDS if kind != RunKind.IMPORT)


@dataclass(frozen=True)
class SourceOrigins:
    """Where a source's record comes from: the last time a crawl checked it, and the dates its imported
    files cover. A source only ever imported has no check: its latest record is a saved file's date."""

    last_crawled: datetime | None = None
    imported_from: datetime | None = None
    imported_until: datetime | None = None

    @property
    def imported_after_crawl(self) -> bool:
        """Whether imported files reach past the last crawl (imports only ever extend a history)."""
        return self.imported_until is not None and (self.last_crawled is None
                                                    or self.imported_until > self.last_crawled)


def source_origins(session: Session) -> dict[str, SourceOrigins]:
    """Per recorded source: its last crawl, and the span of its imported files."""
    crawled = dict(session.execute(
        select(FetchOutcome.source_id, func.max(FetchOutcome.at)).join(Run, Run.id == FetchOutcome.run_id)
        .where(Run.kind.in_(FETCHING_RUN_KINDS)).group_by(FetchOutcome.source_id)).all())
    imported = {sid: (first, last) for sid, first, last in session.execute(
        select(FetchOutcome.source_id, func.min(FetchOutcome.at), func.max(FetchOutcome.at))
        .join(Run, Run.id == FetchOutcome.run_id).where(Run.kind == RunKind.IMPORT)
        .group_by(FetchOutcome.source_id))}
    return {sid: SourceOrigins(crawled.get(sid), *imported.get(sid, (None, None)))
            for sid in crawled.keys() | imported.keys()}


@dataclass(frozen=True)
class SourceSummary:
    source: SourceFields
    versions: int
    last_record: datetime | None  # its latest outcome's time, a crawl's or an imported file's
    last_changed: datetime | None
    last_outcome: str | None
    last_failure_kind: str | None
    origins: SourceOrigins = SourceOrigins()  # what may be called its last check


def source_summaries(session: Session) -> list[SourceSummary]:
    counts = dict(session.execute(select(Version.source_id, func.count()).group_by(Version.source_id)).all())
    last_changed = dict(session.execute(
        select(Version.source_id, func.max(Version.first_seen)).group_by(Version.source_id)).all())
    last_at = (select(FetchOutcome.source_id, func.max(FetchOutcome.id).label("last_id"))
               .join(Run, Run.id == FetchOutcome.run_id).where(Run.kind.in_(CHECKING_RUN_KINDS))
               .group_by(FetchOutcome.source_id).subquery())
    latest = {o.source_id: o for o in session.scalars(
        select(FetchOutcome).join(last_at, FetchOutcome.id == last_at.c.last_id))}
    origins = source_origins(session)
    result = []
    for row in session.scalars(select(SourceRow).order_by(SourceRow.id)):
        outcome = latest.get(row.id)
        result.append(SourceSummary(
            row.fields(), counts.get(row.id, 0), outcome.at if outcome else None, last_changed.get(row.id),
            outcome.outcome if outcome else None, outcome.failure_kind if outcome else None,
            origins.get(row.id, SourceOrigins())))
    return result


def run_record_spans(session: Session, run_ids: Sequence[int]) -> dict[int, tuple[datetime, datetime]]:
    """The first and last time among the outcomes each run recorded: for an import, the dates its files
    cover (entries a refused source kept out of the record are not among them)."""
    if not run_ids:
        return {}
    return {run_id: (first, last) for run_id, first, last in session.execute(
        select(FetchOutcome.run_id, func.min(FetchOutcome.at), func.max(FetchOutcome.at))
        .where(FetchOutcome.run_id.in_(list(run_ids))).group_by(FetchOutcome.run_id))}


def get_source(session: Session, source_id: str) -> SourceRow:
    row = session.get(SourceRow, source_id)
    if row is None:
        known = session.scalars(select(SourceRow.id).order_by(SourceRow.id)).all()
        hint = f"; recorded sources: {', '.join(known)}" if known else "; nothing is recorded yet"
        raise NotFound(f"no recorded source {source_id!r}{hint}")
    return row


def versions_of(session: Session, source_id: str) -> Sequence[Version]:
    get_source(session, source_id)
    return session.scalars(select(Version).where(Version.source_id == source_id).order_by(Version.number)).all()


def version_by_number(session: Session, source_id: str, number: int) -> Version:
    found = session.scalar(select(Version).where(Version.source_id == source_id, Version.number == number))
    if found is None:
        total = len(versions_of(session, source_id))
        raise NotFound(f"{source_id} has no version {number} (it has {total})")
    return found


def version_at(session: Session, source_id: str, at: datetime) -> Version:
    """The version in force at `at`: the newest first seen at or before it."""
    found = session.scalar(select(Version).where(Version.source_id == source_id, Version.first_seen <= at)
                           .order_by(Version.first_seen.desc(), Version.number.desc()).limit(1))
    if found is None:
        versions = versions_of(session, source_id)
        begins = (f"; its record begins at {utc_text(versions[0].first_seen)} (v{versions[0].number})"
                  if versions else "")
        raise NotFound(f"{source_id} had no version yet at {utc_text(at)}{begins}")
    return found


def latest_version(session: Session, source_id: str) -> Version:
    versions = versions_of(session, source_id)
    if not versions:
        raise NotFound(f"{source_id} has no version yet")
    return versions[-1]


def change_for(session: Session, to_version: Version) -> Change | None:
    return session.scalar(select(Change).where(Change.to_version_id == to_version.id))


@dataclass(frozen=True)
class ChangeRow:
    change: Change
    source: SourceRow
    from_number: int
    to_number: int
    reverts_to_number: int | None = None


def changes(session: Session, source_id: str | Sequence[str] | None = None, since: datetime | None = None,
            flags: Sequence[str] | None = None, severities: Sequence[str] | None = None) -> list[ChangeRow]:
    """Newest first; `source_id`: one source or several (`changes --source A --source B`)."""
    old, new, back = aliased(Version), aliased(Version), aliased(Version)
    query = (select(Change, SourceRow, old.number, new.number, back.number)
             .join(SourceRow, SourceRow.id == Change.source_id)
             .join(old, old.id == Change.from_version_id)
             .join(new, new.id == Change.to_version_id)
             .outerjoin(back, back.id == Change.reverts_to_version_id)
             .order_by(Change.detected_at.desc(), Change.id.desc()))
    wanted = [source_id] if isinstance(source_id, str) else list(source_id or ())
    for one in wanted:
        get_source(session, one)
    if wanted:
        query = query.where(Change.source_id.in_(wanted))
    if since is not None:
        query = query.where(Change.detected_at >= since)
    if severities:
        query = query.where(Change.severity.in_(list(severities)))
    rows = [ChangeRow(*row) for row in session.execute(query).all()]
    if flags:
        # Flags are a JSON list; filtering in Python keeps SQLite and PostgreSQL alike.
        rows = [r for r in rows if set(flags) & set(r.change.flags or [])]
    return rows


def outcomes_of(session: Session, source_id: str) -> Sequence[FetchOutcome]:
    return session.scalars(select(FetchOutcome).where(FetchOutcome.source_id == source_id)
                           .order_by(FetchOutcome.at, FetchOutcome.id)).all()


def snapshot_sha256(session: Session, prefix: str) -> str:
    """The sha256 of the one stored page whose sha256 starts with `prefix` (at least 8 hexadecimal digits): a
    policy page a fetch kept (a version's snapshot, a refused page) or a news article's page as fetched."""
    wanted = prefix.strip().lower()
    if len(wanted) < 8 or any(c not in "0123456789abcdef" for c in wanted):
        raise NotFound(f"{prefix!r} is not a sha256 or a prefix of at least 8 hexadecimal digits")
    pages = select(Snapshot.blob_sha256.label("sha256")).where(Snapshot.blob_sha256.startswith(wanted))
    articles = select(ArticleFetch.raw_sha256).where(ArticleFetch.raw_sha256.startswith(wanted))
    found = session.scalars(select(pages.union(articles).subquery().c.sha256).limit(2)).all()
    if not found:
        raise NotFound(f"no stored page has a sha256 starting with {wanted}")
    if len(found) > 1:
        raise NotFound(f"more than one stored page has a sha256 starting with {wanted}: give more digits")
    return found[0]
