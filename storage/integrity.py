"""`policywatch check`: the invariants a crash must never break.

No version without its snapshots, no change without its versions, no raw
snapshot whose bytes do not match their sha256, no version text that does not
decompress to the text its sha256 names, no half-written rows, and the
database engine's own integrity check. News articles likewise: versions
numbered without gaps, each kept text matching its sha256, no text kept under
a TDM reservation, every kept raw page readable. The tamper-evident log
(storage.ledger): every entry's hash recomputed and its links followed, and
every version, of a source or an article, matching its entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage import blobs, ledger, texts
from storage.db import database_problem, reading
from storage.models import Blob, Change, FetchOutcome, HeldText, LedgerEntry, Run, Snapshot, Version, VersionText
from storage.news_models import ArticleFetch, ArticleRow, ArticleVersion
from storage.record import text_sha256
from storage.times import utc_text
from storage.verify_ledger import chain_problems
from storage.vocabulary import LedgerKind, Outcome, RunStatus

# Records dated later than this after the check runs are in the future: a typo, or a clock gone wrong.
FUTURE_SKEW = timedelta(minutes=10)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _engine_checks(session: Session, report: Report) -> None:
    if session.get_bind().dialect.name != "sqlite":
        return
    result = [row[0] for row in session.execute(text("PRAGMA integrity_check"))]
    if result != ["ok"]:
        report.problems += [f"SQLite integrity check: {line}" for line in result]
    for row in session.execute(text("PRAGMA foreign_key_check")):
        report.problems.append(f"SQLite foreign key check: table {row[0]} row {row[1]} points at a missing {row[2]} row")


def _version_checks(session: Session, report: Report) -> None:
    previous: dict[str, Version] = {}
    for version in session.scalars(select(Version).order_by(Version.source_id, Version.number)):
        where = f"{version.source_id} v{version.number}"
        before = previous.get(version.source_id)
        expected = (before.number if before is not None else 0) + 1
        if version.number != expected:
            report.problems.append(f"{where}: version numbers jump from {expected - 1} to {version.number}")
        if before is not None and version.first_seen < before.first_seen:
            # Claims and `show --at` read a source's versions in time order; this record cannot be read so.
            report.problems.append(f"{where}: first seen at {utc_text(version.first_seen)}, before v{before.number} "
                                   f"({utc_text(before.first_seen)}): a fetch was recorded with a time earlier than "
                                   "the record's")
        previous[version.source_id] = version
        if not version.outcome or not version.outcome.snapshots:
            report.problems.append(f"{where}: has no snapshot")
        if version.last_confirmed < version.first_seen:
            report.problems.append(f"{where}: confirmed before it was first seen")


def _text_checks(session: Session, report: Report) -> None:
    """Every stored version text decompresses to the text its sha256 names, and every version's text is there."""
    missing = session.execute(select(Version.source_id, Version.number).outerjoin(
        VersionText, VersionText.sha256 == Version.sha256).where(VersionText.sha256.is_(None))
        .order_by(Version.source_id, Version.number)).all()
    report.problems += [f"{sid} v{number}: its text is missing" for sid, number in missing]
    checked = texts.check_all(session)
    bad = {sha for sha, _ in checked.problems}
    users: dict[str, list[str]] = {}
    for sid, number, sha in session.execute(select(Version.source_id, Version.number, Version.sha256)
                                            .where(Version.sha256.in_(sorted(bad))).order_by(Version.id)):
        users.setdefault(sha, []).append(f"{sid} v{number}")
    for sha, problem in checked.problems:
        report.problems.append(f"{', '.join(users.get(sha, ['no version']))}: {problem}")


def _change_checks(session: Session, report: Report) -> None:
    old, new = aliased(Version), aliased(Version)
    rows = session.execute(select(Change, old, new).outerjoin(old, old.id == Change.from_version_id)
                           .outerjoin(new, new.id == Change.to_version_id)).all()
    for change, a, b in rows:
        if a is None or b is None:
            report.problems.append(f"change {change.id}: a version it links is missing")
        elif not (a.source_id == b.source_id == change.source_id and b.number == a.number + 1):
            report.problems.append(f"change {change.id}: does not link consecutive versions of {change.source_id}")
    versions_after_first = session.scalar(select(func.count()).select_from(Version).where(Version.number > 1))
    if versions_after_first != len(rows):
        report.problems.append(f"{versions_after_first} versions follow another, but {len(rows)} changes are recorded")


def _outcome_checks(session: Session, report: Report) -> None:
    recorded = (Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED)
    for outcome in session.scalars(select(FetchOutcome).where(FetchOutcome.outcome.in_(recorded))):
        if outcome.version_id is None or not outcome.snapshots:
            report.problems.append(f"fetch outcome {outcome.id} ({outcome.source_id}, {outcome.outcome}): "
                                   "no version or no snapshot")
    # A capture held for confirmation, or dropped, keeps its pages and its text, and has no version.
    for outcome in session.scalars(select(FetchOutcome).where(
            FetchOutcome.outcome.in_((Outcome.PENDING, Outcome.DROPPED)))):
        if not outcome.snapshots or outcome.text_sha256 is None or session.get(HeldText, outcome.text_sha256) is None:
            report.problems.append(f"fetch outcome {outcome.id} ({outcome.source_id}, {outcome.outcome}): "
                                   "its pages or its held text are missing")


def _news_checks(session: Session, report: Report) -> None:
    previous: dict[str, int] = {}
    versions = select(ArticleVersion).order_by(ArticleVersion.article_id, ArticleVersion.number)
    for version in session.scalars(versions):
        where = f"article {version.article_id[:12]} v{version.number}"
        expected = previous.get(version.article_id, 0) + 1
        if version.number != expected:
            report.problems.append(f"{where}: version numbers jump from {expected - 1} to {version.number}")
        previous[version.article_id] = version.number
        if version.text is not None and text_sha256(version.text) != version.sha256:
            report.problems.append(f"{where}: text does not match its sha256")
        if version.tdm_reserved and (version.text is not None or version.fetch.raw_sha256 is not None):
            report.problems.append(f"{where}: the publisher reserves text and data mining, yet text or raw bytes "
                                   "are kept")


def _ledger_chain_checks(session: Session, report: Report) -> None:
    report.problems.extend(f"ledger {problem}" for problem in
                           chain_problems(ledger.as_json(entry) for entry in ledger.entries(session)))


def _entry_problems(where: str, entry: LedgerEntry | None, sha256: str, snapshots: list[str], first_seen: datetime
                    ) -> list[str]:
    if entry is None:
        return [f"{where}: has no ledger entry"]
    wrong = [name for name, ok in (("text", entry.text_sha256 == sha256), ("snapshots", entry.snapshots == snapshots),
                                   ("first seen", entry.first_seen == utc_text(first_seen))) if not ok]
    return [f"{where}: does not match its ledger entry {entry.seq} ({', '.join(wrong)})"] if wrong else []


def _ledger_version_checks(session: Session, report: Report) -> None:
    """Each version's text sha256, snapshots and first seen match its entry."""
    entries = {(e.subject, e.number): e for e in session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.VERSION))}
    pages: dict[int, list[str]] = {}
    for outcome_id, sha in session.execute(select(Snapshot.outcome_id, Snapshot.blob_sha256)
                                           .order_by(Snapshot.outcome_id, Snapshot.position)):
        pages.setdefault(outcome_id, []).append(sha)
    seen = set()
    # Each stored text is checked against its sha256 by _text_checks; here the sha256 against the entry.
    query = select(Version.source_id, Version.number, Version.sha256, Version.first_seen, Version.outcome_id)
    for source_id, number, sha, first_seen, outcome_id in session.execute(
            query.order_by(Version.source_id, Version.number).execution_options(yield_per=200)):
        where = f"{source_id} v{number}"
        entry = entries.get((source_id, number))
        seen.add((source_id, number))
        report.problems += _entry_problems(where, entry, sha, pages.get(outcome_id, []),
                                           first_seen)
    report.problems += [f"ledger entry {e.seq}: {s} v{n} is not in the record" for (s, n), e in entries.items()
                        if (s, n) not in seen]


def _ledger_article_checks(session: Session, report: Report) -> None:
    entries = {(e.subject, e.number): e for e in session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.ARTICLE))}
    seen = set()
    query = select(ArticleVersion.article_id, ArticleVersion.number, ArticleVersion.text, ArticleVersion.sha256,
                   ArticleVersion.first_seen, ArticleFetch.raw_sha256).join(
        ArticleFetch, ArticleFetch.id == ArticleVersion.fetch_id)
    for article_id, number, article_text, sha, first_seen, raw in session.execute(
            query.order_by(ArticleVersion.article_id, ArticleVersion.number).execution_options(yield_per=200)):
        seen.add((article_id, number))
        # A text not kept (a TDM reservation) is vouched for by its recorded sha256 alone.
        actual = text_sha256(article_text) if article_text is not None else sha
        report.problems += _entry_problems(f"article {article_id[:12]} v{number}", entries.get((article_id, number)),
                                           actual, [raw] if raw else [], first_seen)
    report.problems += [f"ledger entry {e.seq}: article {s[:12]} v{n} is not in the record"
                        for (s, n), e in entries.items() if (s, n) not in seen]


_NAMED_AT_MOST = 5


def _blob_checks(session: Session, report: Report) -> None:
    """Every stored page read back and verified. A damaged keyframe fails every page compressed against it with
    its own error: one problem, counting and naming the pages that cannot be read through it."""
    owners: dict[str, set[str]] = {}
    for sha, source_id in session.execute(select(Snapshot.blob_sha256, Snapshot.source_id).distinct()):
        owners.setdefault(sha, set()).add(source_id)
    for sha, article_id, url in session.execute(select(ArticleFetch.raw_sha256, ArticleFetch.article_id,
                                                       ArticleFetch.url).where(
            ArticleFetch.raw_sha256.is_not(None)).distinct()):
        owners.setdefault(sha, set()).add(f"article {article_id}" if article_id else url)
    failed: dict[str, list[str]] = {}
    for sha in sorted(owners):
        try:
            blobs.read(session, sha)
        except blobs.BlobIntegrityError as exc:
            failed.setdefault(str(exc), []).append(sha)
    for problem, shas in failed.items():
        named = sorted(set().union(*(owners[sha] for sha in shas)))
        more = f" and {len(named) - _NAMED_AT_MOST} more" if len(named) > _NAMED_AT_MOST else ""
        report.problems.append(f"{problem}: {len(shas)} stored page(s) cannot be read, of "
                               f"{', '.join(named[:_NAMED_AT_MOST])}{more}")


def _future_checks(session: Session, report: Report) -> None:
    limit = datetime.now(timezone.utc) + FUTURE_SKEW
    rows = session.execute(select(FetchOutcome.source_id, func.count(), func.max(FetchOutcome.at))
                           .where(FetchOutcome.at > limit).group_by(FetchOutcome.source_id)).all()
    for sid, count, latest in rows:
        report.problems.append(f"{sid}: {count} fetch outcome(s) dated in the future, the latest "
                               f"{utc_text(latest)}")


def _run_notes(session: Session, report: Report) -> None:
    unfinished = session.scalars(select(Run.id).where(Run.status == RunStatus.RUNNING)).all()
    if unfinished:
        report.notes.append(f"run(s) {', '.join(map(str, unfinished))} did not finish; the next crawl marks them aborted")


def _counts(session: Session, report: Report) -> None:
    for model in (Version, VersionText, Change, Snapshot, Blob, FetchOutcome, Run, ArticleRow, ArticleVersion,
                  LedgerEntry):
        report.counts[model.__tablename__] = session.scalar(select(func.count()).select_from(model)) or 0


CHECKS: tuple[tuple[str, Callable[[Session, Report], None]], ...] = (
    ("the database engine's own checks", _engine_checks), ("versions", _version_checks),
    ("version texts", _text_checks),
    ("changes", _change_checks), ("fetch outcomes", _outcome_checks), ("news articles", _news_checks),
    ("the ledger's chain", _ledger_chain_checks), ("versions against the ledger", _ledger_version_checks),
    ("article versions against the ledger", _ledger_article_checks), ("raw snapshots", _blob_checks),
    ("dates", _future_checks), ("runs", _run_notes), ("counts", _counts))


def check(factory: sessionmaker[Session]) -> Report:
    """Every check, each in its own read transaction: a damaged database is reported on, never a crash."""
    report = Report()
    for name, step in CHECKS:
        try:
            with reading(factory) as session:
                step(session, report)
        except Exception as exc:  # a damaged file fails in ways no single check foresees
            report.problems.append(f"{name} could not be checked: {database_problem(exc, advise_check=False)}")
    return report
