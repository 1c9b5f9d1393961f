"""Analysing stored changes again after the flagger's rules change.

Each stored change is analysed afresh from its two stored texts; where the
kind, flags, severity, summary, evidence or size come out different, the new
analysis replaces the stored one and the old one is kept in the record
(`change_analyses`). Whether a change is announced was decided when it was
detected and stays as it was: a re-analysis never announces anything.
Reverts and technical changes keep their kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analysis.vocabulary import ChangeKind
from ingest.changes import change_facts
from ingest.claims import ClaimsPlan
from ingest.runs import recorded_run
from storage import texts
from storage.db import transaction
from storage.models import Change, SourceRow
from storage.queries import get_source
from storage.record import ChangeFacts, replace_analysis
from storage.vocabulary import RunKind


@dataclass(frozen=True)
class Moved:
    """One stored change whose analysis came out different."""

    change_id: int
    source_id: str
    to_number: int
    old_kind: str
    new_kind: str
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    old_severity: str
    new_severity: str


@dataclass
class ReanalyseReport:
    run_id: int
    examined: int = 0
    moved: list[Moved] = field(default_factory=list)

    def describe(self) -> str:
        """One line: how many changes were analysed again and what moved, e.g.
        `12 changes re-analysed: 3 gained retention, 1 lost sensitive, 2 severities changed`."""
        noun = "change" if self.examined == 1 else "changes"
        gained = Counter(flag for m in self.moved for flag in m.gained)
        lost = Counter(flag for m in self.moved for flag in m.lost)
        parts = [f"{n} gained {flag}" for flag, n in sorted(gained.items())]
        parts += [f"{n} lost {flag}" for flag, n in sorted(lost.items())]
        severities = sum(m.old_severity != m.new_severity for m in self.moved)
        kinds = sum(m.old_kind != m.new_kind for m in self.moved)
        if severities:
            parts.append(f"{severities} severit{'y' if severities == 1 else 'ies'} changed")
        if kinds:
            parts.append(f"{kinds} kind{'' if kinds == 1 else 's'} changed")
        others = len(self.moved) - sum(1 for m in self.moved if m.gained or m.lost or m.old_severity != m.new_severity
                                       or m.old_kind != m.new_kind)
        if others:
            parts.append(f"{others} with a new summary or evidence only")
        return f"{self.examined} {noun} re-analysed: {', '.join(parts) if parts else 'nothing moved'}"


def _differs(change: Change, facts: ChangeFacts) -> bool:
    return (change.kind != facts.kind or list(change.flags or []) != list(facts.flags)
            or change.severity != facts.severity or change.summary != facts.summary
            or list(change.evidence or []) != list(facts.evidence)
            or (change.analysed, change.analysis_note) != (facts.analysed, facts.analysis_note)
            or (change.words_added, change.words_removed, change.lines_added, change.lines_removed)
            != (facts.words_added, facts.words_removed, facts.lines_added, facts.lines_removed))


def _reanalyse_source(session: Session, source_id: str, since: datetime | None, run_id: int, at: datetime,
                      report: ReanalyseReport) -> None:
    query = select(Change.id).where(Change.source_id == source_id).order_by(Change.detected_at, Change.id)
    if since is not None:
        query = query.where(Change.detected_at >= since)
    language = session.get_one(SourceRow, source_id).language
    # One change (and its two texts) in memory at a time, however long the history.
    for change_id in session.scalars(query).all():
        change = session.get_one(Change, change_id)
        before, after = change.from_version, change.to_version
        report.examined += 1
        both = texts.read_many(session, (before.sha256, after.sha256))
        facts = change_facts(both[before.sha256], both[after.sha256], language, reverts_to_version_id=change.reverts_to_version_id,
                             technical=change.kind == ChangeKind.TECHNICAL)
        if _differs(change, facts):
            previous_flags = set(change.flags or [])
            report.moved.append(Moved(
                change.id, source_id, after.number, change.kind, facts.kind,
                tuple(sorted(set(facts.flags) - previous_flags)), tuple(sorted(previous_flags - set(facts.flags))),
                change.severity, facts.severity))
            replace_analysis(session, change, facts, at=at, run_id=run_id)
        session.expunge_all()


def reanalyse(factory: sessionmaker[Session], at: datetime, only: Sequence[str] = (),
              since: datetime | None = None, claims: ClaimsPlan | None = None) -> ReanalyseReport:
    """Analyse the stored changes of the sources named in `only` (all when empty), detected at or after
    `since`, with the current rules; one transaction per source."""
    with transaction(factory) as session:
        for source_id in only:
            get_source(session, source_id)
        source_ids = list(only) or list(session.scalars(
            select(Change.source_id).distinct().order_by(Change.source_id)))
    with recorded_run(factory, RunKind.REANALYSE, at, claims=claims) as run_id:
        report = ReanalyseReport(run_id)
        for source_id in source_ids:
            with transaction(factory) as session:
                _reanalyse_source(session, source_id, since, run_id, at, report)
    return report
