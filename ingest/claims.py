"""Claims in the run lifecycle: every recording command evaluates the claims against what it recorded.

``evaluate_claims`` is one step, in one transaction, serialised against any
other evaluation (``storage.claims_record.lock_evaluation``):

1. Catch up, incrementally: every fetch outcome recorded since a source was
   last evaluated goes to the engine (``analysis.claims.apply``) in time
   order, for the claims whose declaration is unchanged. A new version is a
   ``SourceVersion``; the first one recorded by this run under a changed
   declaration of the source (its URLs, selectors or language:
   ``tracking_fingerprint``) is marked ``declaration_changed``, so evidence
   it no longer holds ends as a tracking change; a source that left the
   declarations is ``SourceUndeclared``. Only claims whose evidence changed
   are re-read. Sources that were only confirmed or failed never reach the
   engine: their open evidence is confirmed in one update, and a failure
   changes nothing. A claim that would be shown a version older than one it
   was already evaluated on (``_late``) is left to step 2 instead.
2. Synchronise the declarations: a claim that is new, whose declaration
   changed (``Claim.fingerprint``) or that was evaluated by other matching
   code or rules (``engine_fingerprint``) has its whole history evaluated
   again (``analysis.claims.evaluate`` and ``reconcile``): its evidence is
   replaced, events it no longer finds are withdrawn (kept, marked), and
   events only the new evaluation finds are recorded with the revision and
   never announced. A claim gone from the files is marked no longer declared.
   The claims step 1 left have their whole history evaluated the same way,
   whether or not the files changed (``RevisionReason.EARLIER_HISTORY``),
   except that the events it finds keep the announcement the engine gives
   them, since they are the vendor's history, and that a re-evaluation that
   changes no event leaves no revision.

``begin_run`` calls it before a run records anything, so a claim is declared
before the versions it then sees; ``end_run`` after, so the run's versions are
evaluated incrementally and may be announced. The claims files are compiled
only when the step needs them: when their digest differs from the one last
synchronised, or when a source in scope of a claim has a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from time import perf_counter

from sqlalchemy.orm import Session, sessionmaker

import analysis
from analysis.claims import (
    DEFAULT_TIME_LIMIT,
    Claim,
    ClaimSet,
    ClaimState,
    EngineState,
    EvaluationError,
    EvidenceInterval,
    SourceConfirmed,
    SourceInfo,
    SourceState,
    SourceUndeclared,
    StatusEvent,
    VersionRef,
    apply,
    evaluate,
    reconcile,
)
from analysis.claims.matching import MatchCache
from ingest.claims_declarations import claim_files, load_claims, unmatched_scopes
from ingest.claims_events import (
    PendingOutcome,
    Planned,
    PlannedVersion,
    VersionMeta,
    history_plan,
    in_time_order,
    materialise,
    outcome_event,
    pending_outcomes,
    source_infos,
    versions,
)
from ingest.declarations import Source
from storage import claims_queries as queries
from storage import claims_record as record
from storage import texts as version_texts
from storage.db import transaction
from storage.vocabulary import EvaluationKind, RevisionReason, TrackingKind


ANALYSIS_DIR = Path(analysis.__file__).resolve().parent


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """sha256 of the code and rules that turn a text and a claim into evidence (everything in ``analysis/``)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in ANALYSIS_DIR.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file()):
        digest.update(path.relative_to(ANALYSIS_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def tracking_detail(source: Source) -> dict[str, object]:
    """What a source's declaration says about *which* text is tracked (not how noise is filtered)."""
    return {"urls": list(source.urls), "select": list(source.rules.select), "remove": list(source.rules.remove),
            "language": source.language}


def tracking_fingerprint(source: Source) -> str:
    canonical = json.dumps(tracking_detail(source), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def claims_digest(location: Path) -> str:
    """sha256 of the claims files (names and bytes) and of the engine: equal digests, equal evaluation."""
    digest = hashlib.sha256(engine_fingerprint().encode())
    for path in claim_files(location):
        digest.update(path.name.encode())
        digest.update(b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


@dataclass
class ClaimsPlan:
    """What a recording command evaluates claims with: the claims files and the sources declared now."""

    location: Path
    sources: Mapping[str, Source]
    time_limit: float = DEFAULT_TIME_LIMIT
    reports: list[ClaimsReport] = field(default_factory=list)
    _claims: ClaimSet | None = None
    _subsets: dict[frozenset[str], ClaimSet] = field(default_factory=dict)

    def digest(self) -> str:
        return claims_digest(self.location)

    def claims(self) -> ClaimSet:
        """The declared claims, compiled (once per plan). An empty claims directory declares none."""
        if self._claims is None:
            empty = self.location.is_dir() and not claim_files(self.location)
            self._claims = ClaimSet(() if empty else load_claims(self.location))
        return self._claims

    def subset(self, claim_ids: Iterable[str]) -> ClaimSet:
        """The compiled claims among ``claim_ids``; the same set (and its prefilter indexes) each time it is asked for."""
        every = self.claims()
        wanted = frozenset(claim_ids) & frozenset(every.claims)
        if wanted == frozenset(every.claims):
            return every
        if wanted not in self._subsets:
            self._subsets[wanted] = ClaimSet(c for c in every if c.id in wanted)
        return self._subsets[wanted]


@dataclass(frozen=True)
class Revised:
    claim_id: str
    reason: RevisionReason
    before: str | None
    after: str | None
    added: int
    withdrawn: int
    announced: int = 0  # of the events added, those the claims feed announces (earlier history only)


@dataclass
class ClaimsReport:
    """What one evaluation step did."""

    run_id: int | None
    events: list[StatusEvent] = field(default_factory=list)  # appended by the incremental step
    revised: list[Revised] = field(default_factory=list)
    errors: list[EvaluationError] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # declarations that are valid but most likely mistaken
    sources: int = 0  # sources whose versions the engine read
    versions: int = 0
    claims_read: set[str] = field(default_factory=set)
    compiled: bool = False
    seconds: float = 0.0


def evaluate_claims(factory: sessionmaker[Session], plan: ClaimsPlan, at: datetime, run_id: int | None = None,
                    *, full: bool = False, performed: datetime | None = None) -> ClaimsReport:
    """Catch up with the record and with the claims files, in one transaction (see the module docstring).

    ``full`` evaluates every claim's whole history again (``RevisionReason.REQUESTED``). ``performed``: when
    the evaluation runs by the clock, where ``at`` is a time of the record (an import's, its files' dates); a
    revision is the record's own act and is dated by it.
    """
    started = perf_counter()
    report = ClaimsReport(run_id)
    with transaction(factory) as session:
        meta = record.lock_evaluation(session, at)
        digest = plan.digest()
        declared = queries.declarations(session)
        sync = full or digest != meta.claims_digest
        recorded = {cid: Claim.from_json(row.spec) for cid, row in declared.items()}
        unchanged: dict[str, Claim] = recorded
        if sync:
            claims = plan.claims()
            report.compiled = True
            unchanged = {c.id: c for c in claims if not full and c.id in declared
                         and declared[c.id].fingerprint == c.fingerprint
                         and declared[c.id].engine == engine_fingerprint()}
        # Every evaluation says it again, from the claims as declared (compiled or not), until the file is fixed.
        scoped = [c for c in plan.claims() if c.scope] if sync else [
            Claim.from_json(row.spec, row.declared_in) for row in declared.values() if row.spec.get("scope")]
        if scoped:
            report.warnings = unmatched_scopes(scoped, {sid: source.vendor for sid, source in plan.sources.items()},
                                               queries.recorded_source_ids(session))
        late = _incremental(session, plan, unchanged, at, run_id, report)
        performed = performed or at
        if sync:
            _synchronise(session, plan, declared, unchanged, at, run_id, report, full, late, performed)
            record.set_claims_digest(session, digest)
        elif late:
            report.compiled = True
            _reevaluate(session, plan, plan.subset(late), dict.fromkeys(late, RevisionReason.EARLIER_HISTORY),
                        declared, at, run_id, report, performed)
        report.seconds = perf_counter() - started
        kind = EvaluationKind.HISTORY if report.revised else EvaluationKind.INCREMENTAL
        record.log_evaluation(session, run_id=run_id, at=at, kind=kind, sources=report.sources,
                              versions=report.versions, claims_read=report.claims_read, events=len(report.events),
                              errors=len(report.errors), seconds=report.seconds)
    plan.reports.append(report)
    return report


# --- the incremental step


@dataclass
class _Work:
    """One source's pending events, as planned from the record."""

    info: SourceInfo
    items: list[Planned]
    last_outcome: int
    last_version: int
    from_this_run: bool
    undeclared: bool = False


def _plan_work(session: Session, plan: ClaimsPlan, run_id: int | None, at: datetime,
               cursors: Mapping[str, queries.ClaimSourceRow]) -> dict[str, _Work]:
    # A source withdrawn long ago is fetched no more: its cursor must not hold back the search for new outcomes.
    after = {sid: c.outcome_id for sid, c in cursors.items() if c.declared or sid in plan.sources}
    pending = pending_outcomes(session, after, set(cursors))
    stale = {sid for sid, c in cursors.items() if c.declared and c.version > 0 and sid not in plan.sources}
    infos = source_infos(session, set(pending) | stale)
    new_versions = versions(session, pending, after_cursor=True)
    by_id: dict[int, VersionMeta] = {m.id: m for metas in new_versions.values() for m in metas}
    work: dict[str, _Work] = {}
    for sid in sorted(set(pending) | stale):
        cursor = cursors.get(sid)
        items: list[Planned] = []
        outcomes: Sequence[PendingOutcome] = pending.get(sid, ())
        last_version = cursor.version if cursor is not None else 0
        marked = False
        current = plan.sources.get(sid)
        changed = (current is not None and cursor is not None and cursor.version > 0
                   and cursor.tracking_fingerprint not in (None, tracking_fingerprint(current)))
        for outcome in outcomes:
            meta = by_id.get(outcome.version_id) if outcome.version_id is not None else None
            if meta is not None and meta.number > last_version:
                flag = changed and not marked and outcome.run_id == run_id
                marked = marked or flag
                items.append(PlannedVersion(infos[sid], meta, flag))
                last_version = meta.number
                continue
            event = outcome_event(outcome)
            if event is not None:
                items.append(event)
        undeclared = sid in stale or (current is None and (cursor is None or cursor.declared) and last_version > 0)
        if undeclared:
            items.append(SourceUndeclared(sid, at))
        work[sid] = _Work(infos[sid], items, outcomes[-1].id if outcomes else (cursor.outcome_id if cursor else 0),
                          last_version, any(o.run_id == run_id for o in outcomes), undeclared)
    return work


def _needs_engine(item: Planned) -> bool:
    return isinstance(item, (PlannedVersion, SourceUndeclared))


def _late(session: Session, claims: Mapping[str, Claim], work: Mapping[str, _Work],
          cursors: Mapping[str, queries.ClaimSourceRow]) -> set[str]:
    """The claims that would be shown a version older than one they were already evaluated on.

    Evaluated in the order it arrived, a document's earlier history recorded
    after another document's later one (imports of one document after
    another, a held capture accepted days later) would put its events after
    the later ones and read the claim's status from the wrong end of its
    timeline. Such a claim has its whole history evaluated again, in time
    order, as a full evaluation would.
    """
    new = {(item.at, sid) for sid, w in work.items() for item in w.items if isinstance(item, PlannedVersion)}
    if not new or not claims:
        return set()
    oldest = min(new)
    # Ties in time go by source id, as `in_time_order` merges a history.
    evaluated = {sid: (v.first_seen, sid)
                 for sid, v in queries.evaluated_versions(session, [s for s, c in cursors.items() if c.version]).items()
                 if (v.first_seen, sid) > oldest}
    # A claim's own events count too: a source withdrawn from the declarations ends its evidence at that time.
    events = {cid: since for cid, since in queries.latest_events(session).items() if since > oldest[0]}
    if not evaluated and not events:
        return set()
    infos = source_infos(session, set(evaluated))
    late = set()
    for claim_id, claim in claims.items():
        newest = max((key for sid, key in evaluated.items() if claim.in_scope(infos[sid])), default=None)
        event = events.get(claim_id)
        if any((newest is not None and key < newest) or (event is not None and key[0] < event)
               for key in new if claim.in_scope(work[key[1]].info)):
            late.add(claim_id)
    return late


def _incremental(session: Session, plan: ClaimsPlan, unchanged: Mapping[str, Claim], at: datetime,
                 run_id: int | None, report: ClaimsReport) -> set[str]:
    """The incremental step; returns the claims it left to a whole-history evaluation (``_late``)."""
    cursors = queries.cursors(session)
    work = _plan_work(session, plan, run_id, at, cursors)
    if not work:
        return set()
    late = _late(session, unchanged, work, cursors)
    if late:
        unchanged = {cid: claim for cid, claim in unchanged.items() if cid not in late}
    in_scope = {sid for sid, w in work.items() if any(c.in_scope(w.info) for c in unchanged.values())}
    engine_sources = {sid for sid in in_scope if any(_needs_engine(i) for i in work[sid].items)}
    confirmed: dict[datetime, list[str]] = {}
    for sid, w in work.items():
        times = [i.at for i in w.items if isinstance(i, SourceConfirmed)]
        if sid not in engine_sources and times:
            confirmed.setdefault(max(times), []).append(sid)
    for at_time, sids in confirmed.items():  # a night's fetches share one time: one update
        if unchanged:
            record.confirm_open_intervals(session, sids, at_time, sorted(unchanged))
    final: dict[str, SourceState] = {}
    if engine_sources:
        report.sources += len(engine_sources)
        claims = _claim_set(plan, unchanged, report)
        final = _apply(session, claims, {sid: work[sid] for sid in sorted(engine_sources)}, cursors, at, run_id,
                       report, plan.time_limit)
    _advance_cursors(session, plan, work, cursors, final, run_id, at)
    return late


def _claim_set(plan: ClaimsPlan, wanted: Mapping[str, Claim], report: ClaimsReport) -> ClaimSet:
    """The compiled claims among ``wanted`` (compiling the files the first time they are needed)."""
    report.compiled = True
    return plan.subset(wanted)


def _resume(session: Session, claims: ClaimSet, work: Mapping[str, _Work],
            cursors: Mapping[str, queries.ClaimSourceRow]) -> EngineState:
    """The engine as the record left it: open evidence of these claims, their states, and the current
    version (with its text) of every source that gets a new version."""
    open_by_source: dict[str, list[EvidenceInterval]] = {}
    for iv in queries.open_intervals(session, claims.claims):
        open_by_source.setdefault(iv.source_id, []).append(iv)
    involved = set(open_by_source) | set(work)
    infos = source_infos(session, involved)
    current = queries.evaluated_versions(session, involved)
    wanted = [current[sid].id for sid, w in work.items()
              if sid in current and any(isinstance(i, PlannedVersion) for i in w.items)]
    by_id = version_texts.by_version_id(session, wanted)
    texts = {sid: by_id[v.id] for sid, v in current.items() if v.id in by_id}
    sources = {}
    for sid in sorted(involved):
        if sid not in current:
            continue  # first seen in this step: its first SourceVersion creates its state
        cursor = cursors[sid]
        sources[sid] = SourceState.resume(infos[sid], VersionRef(cursor.version, current[sid].first_seen),
                                          texts.get(sid), open_by_source.get(sid, ()), declared=cursor.declared)
    statuses = {cid: s for cid, s in queries.states(session).items() if cid in claims}
    return EngineState(sources=sources, statuses=statuses)


def _apply(session: Session, claims: ClaimSet, work: Mapping[str, _Work],
           cursors: Mapping[str, queries.ClaimSourceRow], at: datetime, run_id: int | None,
           report: ClaimsReport, time_limit: float) -> dict[str, SourceState]:
    state = _resume(session, claims, work, cursors)
    planned = in_time_order([item for w in work.values() for item in w.items])
    cache = MatchCache()  # a sentence unchanged from one version to the next is matched once
    closed: list[EvidenceInterval] = []
    events: list[StatusEvent] = []
    statuses: dict[str, ClaimState] = {}
    for event in materialise(session, planned):
        state, update = apply(claims, state, event, time_limit=time_limit, cache=cache)
        if update.step is not None:
            closed.extend(update.step.closed)
            report.versions += update.step.version is not None
        events.extend(update.events)
        report.errors.extend(update.errors)
        statuses.update(update.statuses)
        report.claims_read.update(update.statuses)
    touched = [state.sources[sid] for sid in work if sid in state.sources]
    record.upsert_intervals(session, closed + [iv for s in touched for iv in s.intervals])
    record.set_states(session, statuses.values(), at)
    record.add_events(session, events, change_ids=queries.change_ids(session, work), recorded_at=at, run_id=run_id)
    record.add_errors(session, report.errors, at, run_id)
    report.events.extend(events)
    return {s.source.id: s for s in touched}


def _advance_cursors(session: Session, plan: ClaimsPlan, work: Mapping[str, _Work],
                     cursors: Mapping[str, queries.ClaimSourceRow], final: Mapping[str, SourceState],
                     run_id: int | None, at: datetime) -> None:
    for sid, w in work.items():
        cursor = cursors.get(sid)
        current = plan.sources.get(sid)
        fingerprint = cursor.tracking_fingerprint if cursor is not None else None
        if current is not None and (w.from_this_run or cursor is None):
            fingerprint = tracking_fingerprint(current)
        state = final.get(sid)
        declared = state.declared if state is not None else (not w.undeclared and (cursor.declared if cursor else True))
        first_new = next((i for i in w.items if isinstance(i, PlannedVersion)), None)
        if first_new is not None and first_new.declaration_changed and current is not None:
            record.add_tracking_change(session, source_id=sid, at=first_new.at, kind=TrackingKind.DECLARATION_CHANGED,
                                       version=first_new.meta.number,
                                       before=cursor.tracking_fingerprint if cursor else None,
                                       after=tracking_fingerprint(current), detail=tracking_detail(current))
        if (first_new is not None and cursor is not None and not cursor.declared and current is not None):
            record.add_tracking_change(session, source_id=sid, at=first_new.at, kind=TrackingKind.REDECLARED,
                                       version=first_new.meta.number, before=None,
                                       after=tracking_fingerprint(current), detail=tracking_detail(current))
        if w.undeclared:
            record.add_tracking_change(session, source_id=sid, at=at, kind=TrackingKind.UNDECLARED, version=None,
                                       before=fingerprint, after=None, detail={})
        record.set_cursor(session, sid, cursor, version=w.last_version, outcome_id=w.last_outcome,
                          tracking_fingerprint=fingerprint, declared=declared, at=at)


# --- whole histories


def _synchronise(session: Session, plan: ClaimsPlan, declared: Mapping[str, queries.ClaimDeclarationRow],
                 unchanged: Mapping[str, Claim], at: datetime, run_id: int | None, report: ClaimsReport,
                 full: bool, late: set[str], performed: datetime) -> None:
    claims = plan.claims()
    engine = engine_fingerprint()
    reasons: dict[str, RevisionReason] = {}
    for claim in claims:
        row = declared.get(claim.id)
        if row is not None and claim.id in unchanged:
            record.refresh_declaration(row, claim)
            if claim.id in late:
                reasons[claim.id] = RevisionReason.EARLIER_HISTORY
            continue
        if row is None:
            reasons[claim.id] = RevisionReason.DECLARED
        elif row.fingerprint != claim.fingerprint:
            reasons[claim.id] = RevisionReason.DECLARATION_CHANGED
        elif row.engine != engine:
            reasons[claim.id] = RevisionReason.ENGINE_CHANGED
        else:
            reasons[claim.id] = RevisionReason.REQUESTED
    for claim_id in sorted(set(declared) - set(claims.claims)):
        record.remove_claim(session, claim_id, at)
        report.removed.append(claim_id)
    if reasons:
        _reevaluate(session, plan, ClaimSet(c for c in claims if c.id in reasons), reasons, declared, at, run_id,
                    report, performed)


def _reevaluate(session: Session, plan: ClaimsPlan, claims: ClaimSet, reasons: Mapping[str, RevisionReason],
                declared: Mapping[str, queries.ClaimDeclarationRow], at: datetime, run_id: int | None,
                report: ClaimsReport, performed: datetime) -> None:
    cursors = queries.cursors(session)
    upto = {sid: c.version for sid, c in cursors.items() if c.version > 0}
    infos = {sid: info for sid, info in source_infos(session, upto).items()
             if any(c.in_scope(info) for c in claims)}
    planned = history_plan(session, infos)
    report.sources += len(infos)
    evaluation = evaluate(claims, materialise(session, planned), time_limit=plan.time_limit)
    confirmed = {(m.source_id, m.number): m.last_confirmed
                 for metas in versions(session, infos, after_cursor=False).values() for m in metas}
    before_states = queries.states(session)
    engine = engine_fingerprint()
    change_ids = queries.change_ids(session, infos)
    # Dated when it was made (an import's evaluation runs at the date of its last file, which may be older than
    # history this reads), and never before the newest version it read.
    revised_at = max([performed, *(p.at for p in planned if isinstance(p, PlannedVersion))])
    for claim in claims:
        reason = reasons[claim.id]
        recorded = queries.events(session, claim.id)
        timeline, _ = reconcile(claim.id, [r.event for r in recorded], evaluation.timeline(claim.id), revised_at,
                                keep_announcements=reason is RevisionReason.EARLIER_HISTORY)
        state = evaluation.state.statuses.get(claim.id)
        previous = declared.get(claim.id)
        kept = {e.identity for e in timeline}
        withdrawn = [r.id for r in recorded if r.event.identity not in kept]
        known = {r.event.identity for r in recorded}
        added = [e for e in timeline if e.identity not in known]
        status_before = str(before_states[claim.id].status) if claim.id in before_states else None
        status_after = str(state.status) if state is not None else None
        # Earlier history that changes none of a claim's events leaves no revision: a vendor's documents imported
        # one at a time would otherwise add one to every claim in their scope at each import.
        if reason is not RevisionReason.EARLIER_HISTORY or added or withdrawn or status_before != status_after:
            revision = record.add_revision(
                session, claim_id=claim.id, at=revised_at, reason=str(reason), run_id=run_id,
                fingerprint_before=previous.fingerprint if previous is not None else None,
                fingerprint_after=claim.fingerprint, status_before=status_before, status_after=status_after)
            record.withdraw_events(session, withdrawn, revised_at, revision.id)
            record.add_events(session, added, change_ids=change_ids, recorded_at=revised_at, run_id=run_id,
                              revision_id=revision.id)
            revision.events_added, revision.events_withdrawn = len(added), len(withdrawn)
            report.revised.append(Revised(claim.id, reason, status_before, status_after, len(added),
                                          len(withdrawn), sum(1 for e in added if e.announce)))
        intervals = [_confirmed(iv, confirmed) for iv in evaluation.intervals_of(claim.id)]
        record.replace_intervals(session, claim.id, intervals)
        if state is None:
            record.clear_state(session, claim.id)
        else:
            record.set_states(session, [state], at)
        if previous is None or previous.fingerprint != claim.fingerprint or previous.engine != engine:
            record.declare_claim(session, claim, engine, at)
    report.errors.extend(evaluation.errors)
    record.add_errors(session, evaluation.errors, at, run_id)
    report.versions += sum(1 for p in planned if isinstance(p, PlannedVersion))
    report.claims_read.update(claims.claims)


def _confirmed(iv: EvidenceInterval, confirmed: Mapping[tuple[str, int], datetime]) -> EvidenceInterval:
    """The interval confirmed as late as its last version was (a history is evaluated without its fetches)."""
    last = confirmed.get((iv.source_id, iv.last.number))
    return replace(iv, last_confirmed=last) if last is not None and last > iv.last_confirmed else iv
