"""What the site shows, read from the record in a few bulk queries.

Everything except version texts is loaded at once: metadata for 30,000
versions is a fraction of a second, while their texts may be gigabytes, so
texts are read per source and only when a page that shows them is written.
The caller reads it all in one consistent snapshot (`storage.db.reading`),
so a crawl writing meanwhile is seen either whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import Session

from reports.claim_links import ClaimMark
from reports.urls import hide_local_paths
from storage import texts
from storage.fleet import WorkerShare, night_shares
from storage.health import (FAILING_AFTER_RUNS, current_health, outcome_history, unless_imported_only,
                            unstable_sources)
from storage.models import (Change, ChangeAnalysisRow, FetchOutcome, LedgerEntry, Run, Snapshot, SourceFields,
                            SourceRow, Version, VersionText)
from storage.news_models import FeedFetch
from storage.queries import SourceOrigins, run_record_spans, source_origins
from storage.vocabulary import FailureKind, HealthState, LedgerKind, Outcome, RunKind

RECENT_RUNS = 30


@dataclass(frozen=True)
class Health:
    state: HealthState
    since: datetime | None = None  # failing since (the first failure of the current streak)
    kind: str | None = None
    detail: str | None = None
    unstable_reverts: int = 0  # reverts in the last 14 days, when the source flips between texts


@dataclass(frozen=True)
class SnapshotInfo:
    position: int
    url: str
    final_url: str
    http_status: int | None
    content_type: str | None
    fetched_at: datetime
    sha256: str


@dataclass(frozen=True)
class VersionInfo:
    id: int
    source_id: str
    number: int
    sha256: str
    first_seen: datetime
    chars: int
    snapshots: tuple[SnapshotInfo, ...]
    # Re-derived from stored pages by `reextract`, rather than taken from a fetch when it was made.
    rederived: bool = False
    # The last fetch that found this text (its own first fetch when none has since), and how many fetches
    # found it, its own included: what a page cites when it says "as of".
    last_confirmed: datetime | None = None
    confirmations: int = 1
    # Of those, how many were imported files (`policywatch import`) rather than fetches; and whether its first
    # was one: the pages say "imported" for them, never "fetched".
    imported_confirmations: int = 0
    imported: bool = False
    # Its entry in the tamper-evident log (storage.ledger): None only in a record that predates it.
    ledger_seq: int | None = None
    ledger_hash: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """A later fetch that found a version's text unchanged, with the pages it fetched."""

    at: datetime
    snapshots: tuple[SnapshotInfo, ...]


@dataclass(frozen=True)
class FirstAnalysis:
    kind: str
    flags: tuple[str, ...]
    severity: str
    summary: str


@dataclass(frozen=True)
class ChangeInfo:
    id: int
    source_id: str
    from_number: int
    to_number: int
    from_sha256: str
    to_sha256: str
    detected_at: datetime
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int
    kind: str
    flags: tuple[str, ...]
    severity: str
    summary: str
    evidence_sha256: str
    # Decided when the change was detected (analysis.vocabulary.is_announced): whether feeds announce it,
    # and whether the flagged feed does; a later re-analysis changes neither.
    announced: bool
    announced_flagged: bool
    # The flagger's evidence as stored (JSON text), parsed only for the pages
    # that show it. Page keys hash its digest above instead: escaping
    # kilobytes of evidence per change into every key would double the time
    # of a nightly rebuild.
    evidence_json: str = field(default="", metadata={"hashed": False})
    # Why the change was recorded other than by the guard alone (a held capture confirmed, a review).
    note: str | None = None
    # When `reanalyse` replaced the analysis the change was detected with: that first analysis
    # (what the feeds announced, and keep announcing), and when it was last replaced.
    first_analysis: "FirstAnalysis | None" = None
    revised_at: datetime | None = None
    # False when the flagger did not (fully) analyse the change; `analysis_note` says why.
    analysed: bool = True
    analysis_note: str = ""
    # For a revert: the number of the earlier version whose text came back.
    reverts_to: int | None = None

    def as_announced(self) -> "ChangeInfo":
        """The change as it was announced: with the analysis it was detected with."""
        if self.first_analysis is None:
            return self
        first = self.first_analysis
        return replace(self, kind=first.kind, flags=first.flags, severity=first.severity, summary=first.summary)

    def evidence(self) -> tuple[dict[str, Any], ...]:
        try:
            items = json.loads(self.evidence_json) if self.evidence_json else []
        except ValueError:
            return ()
        return tuple(e for e in items if isinstance(e, dict)) if isinstance(items, list) else ()


@dataclass(frozen=True)
class HeldCapture:
    """A fetch whose text was held for confirmation instead of becoming a version, or dropped."""

    run_id: int
    source_id: str
    at: datetime
    outcome: str  # pending | dropped
    detail: str | None


@dataclass(frozen=True)
class FailedRun:
    """A check of a source that failed, or an imported file of it: when, and the failure kind."""

    at: datetime
    kind: str | None
    imported: bool = False  # an imported file (`policywatch import`), which is no check


@dataclass(frozen=True, kw_only=True)
class SourceInfo(SourceFields):
    last_checked: datetime | None  # its latest outcome, a crawl's or an imported file's (the pictures' axes)
    # Its last check by a crawl, and the dates its imported files cover: what "last checked" may say.
    origins: SourceOrigins = SourceOrigins()
    health: Health
    versions: tuple[VersionInfo, ...] = ()
    changes: tuple[ChangeInfo, ...] = ()  # oldest first
    pending: HeldCapture | None = None  # a capture waiting for a later fetch to confirm it
    claims: tuple[ClaimMark, ...] = ()  # the claims its versions and changes bear on (reports.claims_site)
    failures: tuple[FailedRun, ...] = ()  # every failed check, oldest first (the timeline strips show them)

    @property
    def last_changed(self) -> datetime | None:
        return self.versions[-1].first_seen if self.versions else None

    @property
    def began(self) -> datetime | None:
        """Its earliest record: its first version, failure or held capture (None without any)."""
        known = [t for t in (self.versions[0].first_seen if self.versions else None,
                             self.failures[0].at if self.failures else None,
                             self.pending.at if self.pending else None) if t is not None]
        return min(known, default=None)


@dataclass(frozen=True)
class FailedFetch:
    run_id: int
    source_id: str
    at: datetime
    kind: str | None
    detail: str | None
    http_status: int | None
    url: str | None
    refused_pages: tuple[str, ...] = ()  # sha256 of each page kept with the failure
    news: bool = False  # a news source's feed, sitemap or GDELT answer that could not be read

    @property
    def description(self) -> str:
        """What the failure kind means, as the README's table says it."""
        try:
            return FailureKind(self.kind).description
        except ValueError:
            return ""


@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    sources_checked: int
    new_versions: int
    changes: int
    failures: int
    failed: tuple[FailedFetch, ...] = ()
    held: tuple[HeldCapture, ...] = ()
    workers: tuple[WorkerShare, ...] = ()  # who did what, in a distributed night
    # When it ran by the clock (storage.models.Run): for an import, not its started_at (its first file's date).
    performed_at: datetime | None = None
    performed_until: datetime | None = None
    # The first and last time among the outcomes it recorded: for an import, the dates its files cover.
    records_from: datetime | None = None
    records_until: datetime | None = None

    @property
    def imported(self) -> bool:
        return self.kind == RunKind.IMPORT


@dataclass(frozen=True)
class Record:
    sources: tuple[SourceInfo, ...]
    runs: tuple[RunInfo, ...]  # newest first, the recent ones
    changes: tuple[ChangeInfo, ...] = field(default=())  # newest first, all sources
    # The earliest time any run holds (an import's: its first file's date); None for a record without runs.
    began: datetime | None = None

    def source(self, source_id: str) -> SourceInfo:
        return next(s for s in self.sources if s.id == source_id)


def _snapshots(session: Session) -> dict[int, tuple[SnapshotInfo, ...]]:
    """Snapshots of the fetch that produced each version, by version id."""
    query = (select(Version.id, Snapshot.position, Snapshot.url, Snapshot.final_url, Snapshot.http_status,
                    Snapshot.content_type, Snapshot.fetched_at, Snapshot.blob_sha256)
             .join(Snapshot, Snapshot.outcome_id == Version.outcome_id)
             .order_by(Version.id, Snapshot.position))
    found: dict[int, list[SnapshotInfo]] = defaultdict(list)
    for vid, *rest in session.execute(query):
        found[vid].append(SnapshotInfo(*rest))
    return {k: tuple(v) for k, v in found.items()}


RECORDED = (Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED)


def _confirmation_counts(session: Session) -> dict[int, tuple[int, int]]:
    """How many recorded fetches and imported files found each version's text, and how many of them were
    imported files."""
    imported = func.sum(case((Run.kind == RunKind.IMPORT, 1), else_=0))
    query = (select(FetchOutcome.version_id, func.count(), imported)
             .join(Run, Run.id == FetchOutcome.run_id)
             .where(FetchOutcome.version_id.is_not(None), FetchOutcome.outcome.in_(RECORDED))
             .group_by(FetchOutcome.version_id))
    return {vid: (count, int(files or 0)) for vid, count, files in session.execute(query)}


def _versions(session: Session) -> dict[str, list[VersionInfo]]:
    snapshots = _snapshots(session)
    counts = _confirmation_counts(session)
    query = (select(Version.id, Version.source_id, Version.number, Version.sha256, Version.first_seen,
                    VersionText.chars, Run.kind, Version.last_confirmed, LedgerEntry.seq, LedgerEntry.hash)
             .join(VersionText, VersionText.sha256 == Version.sha256)
             .join(FetchOutcome, FetchOutcome.id == Version.outcome_id).join(Run, Run.id == FetchOutcome.run_id)
             .outerjoin(LedgerEntry, (LedgerEntry.kind == LedgerKind.VERSION)
                        & (LedgerEntry.subject == Version.source_id) & (LedgerEntry.number == Version.number))
             .order_by(Version.source_id, Version.number))
    found: dict[str, list[VersionInfo]] = defaultdict(list)
    for vid, sid, number, sha, first, chars, run_kind, confirmed, seq, entry_hash in session.execute(query):
        count, files = counts.get(vid, (1, 0))
        found[sid].append(VersionInfo(vid, sid, number, sha, first, chars or 0, snapshots.get(vid, ()),
                                      run_kind == RunKind.REEXTRACT, confirmed or first, max(1, count),
                                      files, run_kind == RunKind.IMPORT, seq, entry_hash))
    return found


def load_confirmations(session: Session, version_id: int, latest: int) -> tuple[Confirmation, ...]:
    """The `latest` most recent fetches that found a version's text unchanged, newest first, with their pages.

    Bounded by `latest` whatever the number of nights: a version confirmed
    every night for years still reads a handful of rows.
    """
    outcomes = session.execute(
        select(FetchOutcome.id, FetchOutcome.at)
        .where(FetchOutcome.version_id == version_id, FetchOutcome.outcome == Outcome.UNCHANGED)
        .order_by(FetchOutcome.at.desc(), FetchOutcome.id.desc()).limit(latest)).all()
    if not outcomes:
        return ()
    pages: dict[int, list[SnapshotInfo]] = defaultdict(list)
    for outcome_id, *rest in session.execute(
            select(Snapshot.outcome_id, Snapshot.position, Snapshot.url, Snapshot.final_url, Snapshot.http_status,
                   Snapshot.content_type, Snapshot.fetched_at, Snapshot.blob_sha256)
            .where(Snapshot.outcome_id.in_([oid for oid, _ in outcomes]))
            .order_by(Snapshot.outcome_id, Snapshot.position)):
        pages[outcome_id].append(SnapshotInfo(*rest))
    return tuple(Confirmation(at, tuple(pages.get(oid, ()))) for oid, at in outcomes)


def _replaced_analyses(session: Session) -> tuple[dict[int, FirstAnalysis], dict[int, datetime]]:
    """For changes `reanalyse` revised: the analysis each was detected with, and when it was last replaced."""
    first: dict[int, FirstAnalysis] = {}
    revised: dict[int, datetime] = {}
    rows = session.execute(select(ChangeAnalysisRow.change_id, ChangeAnalysisRow.kind, ChangeAnalysisRow.flags,
                                  ChangeAnalysisRow.severity, ChangeAnalysisRow.summary, ChangeAnalysisRow.replaced_at)
                           .order_by(ChangeAnalysisRow.change_id, ChangeAnalysisRow.id))
    for change_id, kind, flags, severity, summary, replaced_at in rows:
        first.setdefault(change_id, FirstAnalysis(kind, tuple(flags or ()), severity, summary))
        revised[change_id] = replaced_at
    return first, revised


def _changes(session: Session, versions: dict[str, list[VersionInfo]]) -> dict[str, list[ChangeInfo]]:
    by_id = {v.id: v for vs in versions.values() for v in vs}
    query = select(Change.id, Change.source_id, Change.from_version_id, Change.to_version_id, Change.detected_at,
                   Change.words_added, Change.words_removed, Change.lines_added, Change.lines_removed,
                   Change.kind, Change.flags, Change.severity, Change.summary, cast(Change.evidence, Text),
                   Change.announced, Change.announced_flags, Change.note, Change.analysed, Change.analysis_note,
                   Change.reverts_to_version_id)
    first, revised = _replaced_analyses(session)
    found: dict[str, list[ChangeInfo]] = defaultdict(list)
    for (cid, sid, from_id, to_id, at, wa, wr, la, lr, kind, flags, severity, summary,
         evidence, announced, announced_flags, note, analysed, analysis_note, back_id) in session.execute(query):
        old, new = by_id[from_id], by_id[to_id]
        found[sid].append(ChangeInfo(
            cid, sid, old.number, new.number, old.sha256, new.sha256, at, wa, wr, la, lr, kind,
            tuple(flags or ()), severity or "none", summary or "",
            hashlib.sha256((evidence or "").encode("utf-8")).hexdigest(), bool(announced), bool(announced_flags),
            evidence or "", note, first.get(cid), revised.get(cid), analysed=analysed is not False,
            analysis_note=analysis_note or "", reverts_to=by_id[back_id].number if back_id in by_id else None))
    for items in found.values():
        items.sort(key=lambda c: (c.to_number, c.id))
    return found


def _health(session: Session, failing_after: int, origins: dict[str, SourceOrigins]
            ) -> tuple[dict[str, datetime], dict[str, Health], dict[str, tuple[FailedRun, ...]]]:
    """Last check per source, its health as the health feed announces it (storage.health), with the
    revert count of sources whose text keeps flipping back, and its failed checks."""
    history = outcome_history(session)
    last_checked = {sid: rows[-1][0] for sid, rows in history.items()}
    latest = max(last_checked.values(), default=None)
    unstable = unstable_sources(session, latest) if latest is not None else {}
    health: dict[str, Health] = {}
    for sid, rows in history.items():
        origin = origins.get(sid, SourceOrigins())
        now = unless_imported_only(current_health(rows, failing_after), origin.last_crawled, origin.imported_until)
        health[sid] = Health(now.state, now.since, now.failure_kind, hide_local_paths(now.detail),
                             unstable.get(sid, 0))
    failures = {sid: tuple(FailedRun(row.at, row.kind, row.imported) for row in rows if row.failed)
                for sid, rows in history.items()}
    return last_checked, health, failures


def _runs(session: Session, limit: int) -> tuple[RunInfo, ...]:
    runs = session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)).all()
    failed: dict[int, list[FailedFetch]] = defaultdict(list)
    if runs:
        refused = (select(FetchOutcome.id).where(FetchOutcome.outcome == Outcome.FAILED,
                                                 FetchOutcome.run_id.in_([r.id for r in runs])))
        pages: dict[int, list[str]] = defaultdict(list)
        for outcome_id, sha in session.execute(select(Snapshot.outcome_id, Snapshot.blob_sha256)
                                               .where(Snapshot.outcome_id.in_(refused))
                                               .order_by(Snapshot.outcome_id, Snapshot.position)):
            pages[outcome_id].append(sha)
        rows = session.execute(
            select(FetchOutcome.id, FetchOutcome.run_id, FetchOutcome.source_id, FetchOutcome.at,
                   FetchOutcome.failure_kind, FetchOutcome.detail, FetchOutcome.http_status, FetchOutcome.url)
            .where(FetchOutcome.id.in_(refused))
            .order_by(FetchOutcome.run_id, FetchOutcome.source_id, FetchOutcome.id))
        for outcome_id, run_id, sid, at, kind, detail, status, url in rows:
            failed[run_id].append(FailedFetch(run_id, sid, at, kind, hide_local_paths(detail), status, url,
                                              refused_pages=tuple(pages.get(outcome_id, ()))))
    held: dict[int, list[HeldCapture]] = defaultdict(list)
    if runs:
        for row in session.execute(_held_query().where(FetchOutcome.run_id.in_([r.id for r in runs]))):
            held[row[0]].append(_held(row))
        for feed in session.scalars(select(FeedFetch).where(FeedFetch.run_id.in_([r.id for r in runs]),
                                                            FeedFetch.failure_kind.is_not(None))
                                    .order_by(FeedFetch.run_id, FeedFetch.news_source_id, FeedFetch.id)):
            failed[feed.run_id].append(FailedFetch(feed.run_id, feed.news_source_id, feed.at, feed.failure_kind,
                                                   feed.detail, feed.http_status, feed.url, news=True))
    spans = run_record_spans(session, [r.id for r in runs if r.kind == RunKind.IMPORT])
    return tuple(RunInfo(r.id, r.kind, r.status, r.started_at, r.finished_at, r.sources_checked, r.new_versions,
                         r.changes, r.failures, tuple(failed.get(r.id, ())), tuple(held.get(r.id, ())),
                         tuple(night_shares(session, r.id)) if r.worker_id is not None else (),
                         r.performed_at, r.performed_until, *spans.get(r.id, (None, None))) for r in runs)


def _held_query():  # type: ignore[no-untyped-def]
    return (select(FetchOutcome.run_id, FetchOutcome.source_id, FetchOutcome.at, FetchOutcome.outcome,
                   FetchOutcome.detail)
            .where(FetchOutcome.outcome.in_([Outcome.PENDING, Outcome.DROPPED]))
            .order_by(FetchOutcome.run_id, FetchOutcome.source_id, FetchOutcome.id))


def _held(row: Any) -> HeldCapture:
    run_id, source_id, at, outcome, detail = row
    return HeldCapture(run_id, source_id, at, outcome, hide_local_paths(detail))


def _pending(session: Session) -> dict[str, HeldCapture]:
    """Each source's capture still waiting for confirmation."""
    return {row[1]: _held(row) for row in session.execute(
        _held_query().where(FetchOutcome.outcome == Outcome.PENDING))}


def stored_text_digests(session: Session) -> dict[str, dict[int, str]]:
    """For each source, each version's digest of the stored bytes of its text and of the keyframe it is
    compressed against (`storage.texts.stored_digests`): what the site's files showing that text were verified
    from. Reading the compressed rows is cheap (a policy's history is stored in well under 1 % of its text) where
    decompressing and hashing every text again is not; a text damaged since the last build changes its digest,
    so the files that show it are written again and the damage is found and named."""
    stored = texts.stored_digests(session)
    found: dict[str, dict[int, str]] = defaultdict(dict)
    for source_id, number, sha in session.execute(select(Version.source_id, Version.number, Version.sha256)):
        found[source_id][number] = stored.get(sha, "missing")
    return dict(found)


def load_record(session: Session, recent_runs: int = RECENT_RUNS, failing_after: int = FAILING_AFTER_RUNS) -> Record:
    versions = _versions(session)
    changes = _changes(session, versions)
    origins = source_origins(session)
    last_checked, health, failures = _health(session, failing_after, origins)
    pending = _pending(session)
    sources = tuple(
        SourceInfo(**vars(row.fields()), last_checked=last_checked.get(row.id),
                   origins=origins.get(row.id, SourceOrigins()),
                   health=health.get(row.id, Health(HealthState.UNCHECKED)), versions=tuple(versions.get(row.id, ())),
                   changes=tuple(changes.get(row.id, ())), pending=pending.get(row.id),
                   failures=failures.get(row.id, ()))
        for row in session.scalars(select(SourceRow).order_by(SourceRow.id)))
    every_change = sorted((c for s in sources for c in s.changes), key=lambda c: (c.detected_at, c.id), reverse=True)
    return Record(sources, _runs(session, recent_runs), tuple(every_change),
                  session.scalar(select(func.min(Run.started_at))))


def load_texts(session: Session, source_id: str, numbers: Iterable[int] | None = None,
               damaged: dict[int, str] | None = None) -> dict[int, str]:
    """Texts of a source's versions by number (all of them when `numbers` is None).

    A text that no longer reads back as its sha256 raises `TextIntegrityError`, unless `damaged` is given:
    then it is left out, and what is wrong with it is put in `damaged` under its number."""
    query = select(Version.number, Version.sha256).where(Version.source_id == source_id)
    if numbers is not None:
        wanted: Sequence[int] = sorted(set(numbers))
        if not wanted:
            return {}
        query = query.where(Version.number.in_(wanted))
    shas = dict(session.execute(query).all())
    if damaged is None:
        found = texts.read_many(session, shas.values())
        return {number: found[sha] for number, sha in shas.items()}
    found, problems = texts.read_readable(session, shas.values())
    damaged.update({number: problems[sha] for number, sha in shas.items() if sha in problems})
    return {number: found[sha] for number, sha in shas.items() if sha in found}
