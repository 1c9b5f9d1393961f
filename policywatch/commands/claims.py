"""`policywatch claims`: claims about vendors' data practices, against the vendors' own wording.

    policywatch claims [--status S] [--json]          every claim with its status and since
    policywatch claims show ID [--at TIME] [--json]   statement, status, timeline, evidence, successors
    policywatch claims evaluate [--at TIME] [--full]  bring the record up to date; statuses now or at TIME
    policywatch claims suggest ID [--source ID]       sentences similar to the statement (BM25): suggestions only

Statuses come from the record, as the last recording command (or
`claims evaluate`) left it; they change only through evaluation.
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from analysis.claims.vocabulary import ClaimStatus
from policywatch.commands.context import Context, ExitStatus, UserError
from policywatch.jsonview import when
from policywatch.terminal import BOLD, RESET, use_colour
from storage.claims_models import ClaimErrorRow
from storage import texts as version_texts
from storage.db import transaction
from storage.models import SourceRow, Version

# The claims' queries and engine are imported by the functions that use them: other commands import this module
# (crawl, import, articles...), and reading the record needs none of it.
if TYPE_CHECKING:
    from analysis.claims import EvidenceInterval, StatusEvent, Suggestion
    from ingest.claims import ClaimsReport
    from storage import claims_queries as queries


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _day(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d") if at else "—"


def _event_line(event: StatusEvent) -> str:
    previous = ClaimStatus(event.previous).label if event.previous is not None else "not tracked"
    where = (f"{event.source_id} v{event.version}" if event.version is not None
             else f"{event.source_id} withdrawn" if event.source_id else "no source")
    quiet = "" if event.announce else " (not announced)"
    return f"claims: {event.claim_id}: {previous} → {event.status.label} ({where}, {when(event.since)}){quiet}"


def _event_lines(event: StatusEvent) -> list[str]:
    """The status change, and for an announced one the sentences that went and came."""
    lines = [_event_line(event)]
    if event.announce:
        lines += [f"  was: “{sentence}”" for sentence in event.removed]
        lines += [f"  now: “{sentence}”" for sentence in event.added]
    return lines


def _error_line(claim_id: str, source_id: str, version: int | None, message: str) -> str:
    at = f" v{version}" if version is not None else ""
    return f"claims: {claim_id}: not evaluated on {source_id}{at}: {message}"


def _announced(count: int) -> str:
    # Only a vendor's own history recorded late has events announced by a re-evaluation, as in time order.
    return f"{_plural(count, 'event')} announced, as in time order" if count else "not announced"


def print_claims(ctx: Context, reports: Iterable[ClaimsReport]) -> None:
    """What evaluations did, one line each: status changes, histories evaluated again, errors."""
    for report in reports:
        if not ctx.quiet:
            for event in report.events:
                for line in _event_lines(event):
                    ctx.say(line)
            for revised in report.revised:
                if revised.added or revised.withdrawn or revised.before != revised.after:
                    before = ClaimStatus(revised.before).label if revised.before else "not tracked"
                    after = ClaimStatus(revised.after).label if revised.after else "not tracked"
                    ctx.say(f"claims: {revised.claim_id}: history evaluated again ({revised.reason.replace('_', ' ')}): "
                            f"{before} → {after}, {_plural(revised.added, 'event')} found, "
                            f"{revised.withdrawn} withdrawn ({_announced(revised.announced)})")
            for claim_id in report.removed:
                ctx.say(f"claims: {claim_id}: no longer declared; its record is kept")
        for error in report.errors:
            ctx.say(_error_line(error.claim_id, error.source_id, error.version, error.message))
        for warning in report.warnings:
            ctx.warn(warning)


def print_run_claims(ctx: Context, run_ids: Sequence[int]) -> None:
    """Claim status changes and errors recorded by these runs (a crawl evaluates inside the crawler)."""
    from storage import claims_queries as queries
    if not run_ids:
        return
    with transaction(ctx.factory()) as session:
        events = [r for r in queries.events(session) if r.run_id in run_ids and r.revision_id is None]
        errors = session.scalars(select(ClaimErrorRow).where(ClaimErrorRow.run_id.in_(list(run_ids)))
                                 .order_by(ClaimErrorRow.id)).all()
        if not ctx.quiet:
            for recorded in events:
                for line in _event_lines(recorded.event):
                    ctx.say(line)
        for error in errors:
            ctx.say(_error_line(error.claim_id, error.source_id, error.version, error.message))


# --- reading


def _claims_or_fail(session: Any, claim_id: str | None = None, at: datetime | None = None,
                    failing_after: int = 2) -> list[queries.RecordedClaim]:
    from storage import claims_queries as queries
    found = queries.recorded_claims(session, claim_id, at, failing_after)
    if claim_id is not None and not found:
        require_recorded_claim(session, claim_id)
    return found


def require_recorded_claim(session: Any, claim_id: str) -> None:
    """Stop with one line, and the closest ids, when no claim `claim_id` was ever recorded: a mistyped id in a
    filter must not read as "no coverage"."""
    from storage import claims_queries as queries
    known = sorted(queries.declarations(session, current_only=False))
    if claim_id in known:
        return
    close = difflib.get_close_matches(claim_id, known, n=3, cutoff=0.75)
    if close:
        hint = f"; did you mean {', '.join(close)}?"
    elif known:
        nearest = difflib.get_close_matches(claim_id, known, n=5, cutoff=0.0)
        hint = f"; the closest of the {len(known)} recorded: {', '.join(nearest)} (`policywatch claims` lists them all)"
    else:
        hint = "; no claim is recorded yet (run `policywatch claims evaluate`)"
    raise UserError(f"no recorded claim {claim_id!r}{hint}")


def _stale_warning(ctx: Context, session: Any) -> None:
    from storage import claims_queries as queries
    try:
        # The claims readers, loaded by the claims commands only.
        from ingest.claims import claims_digest
        from ingest.claims_declarations import declared_ids

        digest = claims_digest(ctx.settings.claims)
        if queries.claims_digest(session) in (None, digest):
            return
        # Read only when they changed: every `claims` and `claims show` would otherwise parse the files.
        here = declared_ids(ctx.settings.claims)
    except ValueError:
        return
    declared = queries.declarations(session)
    ending = sorted(set(declared) - here)
    evaluate = ("`policywatch claims evaluate` (or the next crawl, import, news night or run, which evaluate the "
                "claims too)")
    elsewhere = None if set(declared) & here else _declared_elsewhere(
        Path(ctx.settings.claims), [row.declared_in for row in declared.values()])
    if elsewhere is not None:
        # None of the record's claims is declared here: these are another claims folder, not a new edition of its.
        ctx.warn(f"none of the record's claims is in {ctx.settings.claims}: they were last evaluated from "
                 f"{elsewhere}; pass `--claims {elsewhere}` to read the record with them ({evaluate} with the claims "
                 f"in {ctx.settings.claims} would record its {len(declared)} claim(s) as no longer declared)")
        return
    gone = ""
    if ending:
        named = ", ".join(ending[:5]) + (f" and {len(ending) - 5} more" if len(ending) > 5 else "")
        gone = f"; that would record {len(ending)} claim(s) as no longer declared: {named}"
    ctx.warn(f"the claims in {ctx.settings.claims} changed since the record was last evaluated; {evaluate} brings "
             f"it up to date{gone}")


def _declared_elsewhere(location: Path, files: list[str]) -> str | None:
    """Where the record's declared claims were read from, when it is not `location` (a claims file or folder) and
    is still there to be read; None otherwise."""
    where = location.resolve()
    paths = sorted({Path(f).resolve() for f in files if Path(f).is_file()})
    if not paths or any(p == where or where in p.parents for p in paths):
        return None
    return str(paths[0]) if len(paths) == 1 else os.path.commonpath([str(p) for p in paths])


def _summary_json(item: queries.RecordedClaim) -> dict[str, Any]:
    view = item.view
    current = view.current()
    return {
        "id": item.claim.id, "vendor": item.claim.vendor, "topics": [str(t) for t in item.claim.topics],
        "statement": dict(sorted(item.claim.statement.items())), "said_by": item.claim.said_by,
        "status": str(view.status), "status_label": view.status.label, "since": when(view.since),
        "cause": None if view.cause is None else str(view.cause), "declared": item.declared,
        "tracked": item.tracked,
        "evidence": {"supports": sum(iv.role == "supports" for iv in current),
                     "contradicts": sum(iv.role == "contradicts" for iv in current)},
        "successors": len(view.successors),
        "unconfirmed": [{"source": sid, "failing_since": when(since)} for sid, since in view.unconfirmed],
        "events": len(view.timeline),
    }


def _status_text(item: queries.RecordedClaim) -> str:
    if item.state is None and not item.view.timeline:
        return "not tracked yet (no document in scope is recorded)"
    return f"{item.view.status.label} since {when(item.view.since)}"


def list_claims(ctx: Context, args: argparse.Namespace) -> int:
    if args.id:
        raise UserError("`policywatch claims` lists every claim; use `policywatch claims show ID` for one")
    with transaction(ctx.factory(must_exist=True)) as session:
        _stale_warning(ctx, session)
        items = [i for i in _claims_or_fail(session, failing_after=ctx.settings.failing_after_runs)
                 if args.status is None or str(i.view.status) == args.status]
    if args.json:
        ctx.print_json([_summary_json(i) for i in items])
        return ExitStatus.OK
    if not items:
        ctx.say("no claims recorded" + (f" with status {args.status}" if args.status else
                                         "; `policywatch claims evaluate` evaluates the declared claims"))
        return ExitStatus.OK
    for item in items:
        gone = "" if item.declared else f"  [no longer declared since {when(item.removed_at)}]"
        topics = ", ".join(str(t) for t in item.claim.topics)
        ctx.say(f"{item.claim.id}  ({item.claim.vendor}{'; ' + topics if topics else ''}){gone}")
        ctx.say(f"  {_status_text(item)}")
        ctx.say(f"  {item.claim.statement['en']}")
    return ExitStatus.OK


def _highlight(iv: EvidenceInterval, colour: bool) -> str:
    start, end = iv.span
    mark = (BOLD, RESET) if colour else ("[", "]")
    return f"{iv.sentence[:start]}{mark[0]}{iv.sentence[start:end]}{mark[1]}{iv.sentence[end:]}"


def _range(iv: EvidenceInterval, current: bool) -> str:
    said = f"v{iv.first.number} ({_day(iv.first.at)})"
    if iv.end is None:
        return f"said from {said}, still current (last confirmed {when(iv.last_confirmed)})"
    if current:
        return f"said from {said}"
    end = iv.end
    reason = end.reason.replace("_", " ")
    at = f" at v{end.version}" if end.version is not None else ""
    return f"said from {said} to v{iv.last.number} ({_day(iv.last.at)}); ended: {reason}{at} ({_day(end.at)})"


def _past_the_record(ctx: Context, session: Any, at: datetime | None, source_ids: list[str] | None = None
                     ) -> datetime | None:
    """The latest time a document (of these sources, or any) was confirmed; when `--at` is past it, a warning that
    the statuses shown are the ones known then, not statuses at that time."""
    from storage import claims_queries as queries

    reaches = queries.record_reaches(session, source_ids)
    if at is not None and reaches is not None and at > reaches:
        texts, shown = (("no document's text", "the statuses shown are the ones") if source_ids is None else
                        ("no text of a document in the claim's scope", "the status shown is the one"))
        ctx.warn(f"--at {when(at)} is past the record: {texts} was confirmed after {when(reaches)}; {shown} known then")
    return reaches


def show_claim(ctx: Context, args: argparse.Namespace) -> int:
    if not args.id:
        raise UserError("`policywatch claims show` needs a claim id, e.g. openai/chat-history-can-be-turned-off")
    with transaction(ctx.factory(must_exist=True)) as session:
        _stale_warning(ctx, session)
        (item,) = _claims_or_fail(session, args.id, args.at, ctx.settings.failing_after_runs)
        rows = list(session.scalars(select(SourceRow)))
        titles = {r.id: f"{r.vendor} — {r.title}" for r in rows}
        if args.at is not None:
            from ingest.claims_events import source_info

            _past_the_record(ctx, session, args.at, [r.id for r in rows if item.claim.in_scope(source_info(r))])
    if args.json:
        ctx.print_json(item.to_json(titles))
        return ExitStatus.OK
    colour = use_colour(ctx.out)
    claim, view = item.claim, item.view
    topics = ", ".join(str(t) for t in claim.topics)
    ctx.say(f"{claim.id} ({claim.vendor}{'; ' + topics if topics else ''})")
    for language in sorted(claim.statement, key=lambda lang: (lang != "en", lang)):
        ctx.say(f"  {language}: {claim.statement[language]}")
    if claim.said_by:
        ctx.say(f"said by: {claim.said_by}")
    if claim.first_appearance is not None:
        ctx.say(f"first appearance: {claim.first_appearance.url} ({claim.first_appearance.date.isoformat()})")
    if not item.declared:
        ctx.say(f"no longer declared since {when(item.removed_at)}: the record below is as it was then")
    moment = f" at {when(args.at)}" if args.at else ""
    if args.at is None:
        status = _status_text(item)
    elif view.since is None:
        status = "not tracked yet (no document in scope was recorded by then)"
    else:
        status = f"{view.status.label} since {when(view.since)}"
    ctx.say(f"status{moment}: {status}")
    if view.cause is not None and view.timeline:
        last = view.timeline[-1]
        ctx.say(f"  caused by: {last.cause.replace('_', ' ')} ({last.source_id} v{last.version})")
    for sid, since in view.unconfirmed:
        ctx.say(f"  {sid} is failing since {when(since)}: its evidence is not confirmed since then; "
                f"the status does not change on missing data")
    ctx.say("timeline:" if view.timeline else "timeline: no status change recorded")
    for event in view.timeline:
        previous = event.previous.label if event.previous is not None else "not tracked"
        flags = "announced" if event.announce else "not announced"
        if event.reevaluated_at is not None:
            flags += f", found when the history was evaluated again on {when(event.reevaluated_at)}"
        ctx.say(f"  {when(event.since)}  {previous} → {event.status.label}  "
                f"({event.cause.replace('_', ' ')}, {event.source_id} v{event.version}; {flags})")
    ctx.say("evidence:" if view.evidence else "evidence: no sentence of the vendor's documents matches")
    for iv in view.evidence:
        current = iv.is_open if args.at is None else iv.held_at(args.at)
        state = "current" if current else "past"
        expect = "" if iv.expect_met else f"; does not meet expect: {'; '.join(iv.failures)}"
        ctx.say(f"  {iv.role} ({state}) {iv.source_id}, matcher {iv.matcher_id}: {_range(iv, current)}{expect}")
        ctx.say(f"    “{_highlight(iv, colour)}”")
        if iv.end is not None and iv.end.successor and not current:
            ctx.say(f"    replaced by: “{iv.end.successor}”")
    if view.successors:
        ctx.say("replaced by:")
        for successor in view.successors:
            ctx.say(f"  “{successor.sentence}” ({successor.source_id}, since {when(successor.since)}, "
                    f"{successor.via})")
    for error in item.errors[-3:]:
        ctx.say(_error_line(error.claim_id, error.source_id, error.version, error.message))
    return ExitStatus.OK


# --- evaluating


def evaluate_command(ctx: Context, args: argparse.Namespace) -> int:
    from analysis.claims import status_at
    from storage import claims_queries as queries
    if args.id:
        raise UserError("`policywatch claims evaluate` evaluates every claim; it takes no claim id")
    factory = ctx.factory(must_exist=True)
    now = datetime.now(timezone.utc)
    plan = ctx.claims_plan()
    from ingest.claims import evaluate_claims

    report = evaluate_claims(factory, plan, now, full=args.full)
    print_claims(ctx, [report])
    at = args.at or now
    with transaction(factory) as session:
        items = queries.recorded_claims(session, failing_after=ctx.settings.failing_after_runs)
        reaches = _past_the_record(ctx, session, args.at)
    rows: list[tuple[str, str | None, str, datetime | None]] = []
    for item in items:
        if not item.declared:
            continue
        event = status_at([e.event for e in item.events], at)
        if event is not None:
            rows.append((item.claim.id, str(event.status), event.status.label, event.since))
        elif item.state is not None and item.state.since <= at:
            rows.append((item.claim.id, str(ClaimStatus.UNVERIFIED), ClaimStatus.UNVERIFIED.label, item.state.since))
        else:
            rows.append((item.claim.id, None, "not tracked yet", None))
    if args.json:
        claims = [{"id": cid, "status": status, "status_label": label, "since": when(since)}
                  for cid, status, label, since in rows]
        ctx.print_json({"at": when(at), "record_reaches": when(reaches), "claims": claims})
        return ExitStatus.OK
    if not ctx.quiet:
        ctx.say(f"claims at {when(at)} ({len(rows)} declared; evaluated in {report.seconds:.2f} s):")
        for cid, _, label, since in rows:
            ctx.say(f"  {label:32} {('since ' + _day(since)) if since else '':17} {cid}")
    return ExitStatus.FAILURES if report.errors else ExitStatus.OK


# --- suggestions


def suggest_command(ctx: Context, args: argparse.Namespace) -> int:
    from analysis.claims import suggest
    from analysis.claims.suggest import LABEL
    if not args.id:
        raise UserError("`policywatch claims suggest` needs a claim id")
    claims = ctx.claims_plan().claims()
    if args.id not in claims:
        close = difflib.get_close_matches(args.id, list(claims.claims), n=3, cutoff=0.75)
        raise UserError(f"no claim {args.id!r} is declared in {ctx.settings.claims}"
                        + (f"; did you mean {', '.join(close)}?" if close else ""))
    claim = claims[args.id]
    with transaction(ctx.factory(must_exist=True)) as session:
        rows = list(session.scalars(select(SourceRow).order_by(SourceRow.id)))
        if args.source is not None:
            rows = [r for r in rows if r.id == args.source]
            if not rows:
                raise UserError(f"no recorded source {args.source!r}")
        else:
            from ingest.claims_events import source_info

            rows = [r for r in rows if claim.in_scope(source_info(r))]
        texts: dict[str, dict[str, str]] = {}
        for row in rows:
            latest = session.scalar(select(Version.sha256).where(Version.source_id == row.id)
                                    .order_by(Version.number.desc()).limit(1))
            if latest is not None:
                texts.setdefault(row.language.split("-")[0].lower(), {})[row.id] = version_texts.read(session, latest)
    if not texts:
        raise UserError(f"no recorded version of a source in scope of {claim.id}; nothing to suggest from")
    found: list[tuple[str, Suggestion]] = []
    for language in sorted(texts):
        try:
            found.extend((language, s) for s in suggest(claim, texts[language], language, top=args.top))
        except ValueError as exc:
            ctx.warn(str(exc))
    if args.json:
        ctx.print_json({"claim": claim.id, "label": LABEL,
                        "suggestions": [s.to_json() | {"language": lang} for lang, s in found]})
        return ExitStatus.OK
    ctx.say(f"{claim.id}: sentences worded like the statement (BM25) — {LABEL}; they never change a status")
    for language, s in found:
        matched = f" (already matched by {', '.join(s.matched_by)})" if s.matched_by else ""
        ctx.say(f"  {language} #{s.rank} score {s.score:.2f}  {s.source_id}{matched}")
        ctx.say(f"    “{s.sentence}”")
    if not found:
        ctx.say("  no sentence shares a word with the statement")
    return ExitStatus.OK


def claims_command(ctx: Context, args: argparse.Namespace) -> int:
    return {"list": list_claims, "show": show_claim, "evaluate": evaluate_command,
            "suggest": suggest_command}[args.action](ctx, args)
