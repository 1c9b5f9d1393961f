"""Reading the record: `history`, `show`, `diff` and `changes`.

`history`, `show` and `changes` read with plain SQL (`storage.reader`, through `Context.record`) and never
import SQLAlchemy, whose import alone takes longer than they may (bench/startup_speed.py); `raw` and `diff` read
through the ORM.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.diff import count_words
from analysis.vocabulary import Severity
from policywatch import jsonview
from policywatch.commands.context import Context, ExitStatus, UserError, write_file
from policywatch.terminal import render_diff, safe, use_colour
from storage.vocabulary import Outcome, RunKind

_TAGGED = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)

if TYPE_CHECKING:
    from datetime import datetime

    from storage.models import Change
    from storage.reader import ChangeRecord, ChangeRow, Record, VersionRecord


def _change_brief(row: ChangeRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    change = row.change
    return {"kind": change.kind, "words_added": change.words_added, "words_removed": change.words_removed,
            "reverts_to_version": row.reverts_to_number,
            "analysed": change.analysed, "analysis_note": change.analysis_note, "note": change.note}


def _confirmed(version: VersionRecord) -> str:
    """When a fetch last found the version's text. A version `reextract` re-derived is dated when it was, though
    nothing was fetched then: the line names the stored page it was read from instead."""
    derived = jsonview.re_derived_from(version)
    if derived is None:
        return f"confirmed {jsonview.when(version.last_confirmed)}"
    read = "the imported file dated" if derived.imported else "the page fetched"
    later = (f"confirmed {jsonview.when(version.last_confirmed)}" if version.last_confirmed > version.first_seen
             else "no fetch since")
    return f"re-derived from {read} {jsonview.when(derived.read_at)}, {later}"


def _meaning(change: Change | ChangeRecord) -> str:
    """What the flagger made of a change, for one line: its severity (`[high]`, `[medium]`, `[low]`; none for a
    formatting change) and its summary when it has one, why it was not (fully) analysed when it was not."""
    if not change.analysed:
        return f"  ({change.analysis_note or 'not analysed'})"
    if change.severity not in _TAGGED:
        return ""
    return f"  [{change.severity}]" + (f" {change.summary}" if change.summary else "")


def print_history(ctx: Context, source_id: str, as_json: bool = False) -> int:
    with ctx.record() as record:
        versions = record.versions_of(source_id)
        found = record.texts([v.sha256 for v in versions])
        text_of = {v.id: found[v.sha256] for v in versions}
        outcomes = record.outcomes_of(source_id)
        rows = {row.change.to_version_id: row for row in record.changes(source_id)}
        changes = {vid: row.change for vid, row in rows.items()}
        if as_json:
            links = record.version_links(source_id)
            ctx.print_json({"source": source_id,
                            "versions": [jsonview.version_json(v, text_of[v.id], links.get(v.number))
                                         | {"change": _change_brief(rows.get(v.id))}
                                         for v in versions],
                            "outcomes": [jsonview.outcome_json(o) for o in outcomes]})
            return ExitStatus.OK
        source = record.get_source(source_id)
        ctx.say(f"{source.id}: {source.vendor} — {source.title} ({source.language})")
        for v in versions:
            change = changes.get(v.id)
            back = rows[v.id].reverts_to_number if change is not None else None
            what = "first version" if change is None else (
                f"{change.kind}{f' to v{back}' if back is not None else ''}: "
                f"+{change.words_added} / -{change.words_removed} words" + _meaning(change))
            ctx.say(f"  v{v.number}  {jsonview.when(v.first_seen)}  {_confirmed(v)}  "
                    f"{count_words(text_of[v.id])} words  {what}")
            if change is not None and change.note:
                ctx.say(f"      note: {change.note}")
        for o in outcomes:
            if o.outcome in (Outcome.PENDING, Outcome.DROPPED):
                ctx.say(f"  {o.outcome}  {jsonview.when(o.at)}  {o.detail or ''}")
        failed = [o for o in outcomes if o.outcome == Outcome.FAILED]
        # An imported file that failed (a selector that misses in it) is no fetch of the vendor's site.
        for group, what in (([o for o in failed if o.run_kind != RunKind.IMPORT], "failed fetch(es)"),
                            ([o for o in failed if o.run_kind == RunKind.IMPORT], "failed imported file(s)")):
            if group:
                ctx.say(f"  {len(group)} {what}, latest {jsonview.when(group[-1].at)}: "
                        f"{group[-1].failure_kind}: {group[-1].detail or ''}")
        if failed:
            latest = failed[-1]
            for snapshot in latest.snapshots:
                ctx.say(f"    refused page kept as received: sha256 {snapshot.blob_sha256} "
                        f"(`policywatch raw {snapshot.blob_sha256[:12]}`)")
            kinds = Counter(o.failure_kind or "unknown" for o in failed)
            ctx.say(f"  failures by kind: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}")
            if any(o.text_sha256 for o in failed):
                ctx.say(f"  refused texts are kept: `policywatch review {source_id}` lists them")
    return ExitStatus.OK


def history(ctx: Context, args: argparse.Namespace) -> int:
    return print_history(ctx, args.id, args.json)


def show(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.record() as record:
        reaches = None
        following = None  # the version first seen after `reaches`, when there is one
        if args.version is not None:
            version = record.version_by_number(args.id, args.version)
        elif args.at is not None:
            version = record.version_at(args.id, args.at)
            # Past the last fetch (or imported file) that confirmed the text, the record cannot say what was in
            # force: after the newest version's, nor between a version's and the next version's first seen.
            if args.at > version.last_confirmed:
                reaches = version.last_confirmed
                following = record.version_after(args.id, args.at)
        else:
            version = record.latest_version(args.id)
        text = record.texts([version.sha256])[version.sha256]
        if args.json:
            links = record.version_links(version.source_id)
            shown = jsonview.version_json(version, text, links.get(version.number), with_text=True)
            if args.at is not None:
                shown |= {"at": jsonview.when(args.at), "record_reaches": jsonview.when(reaches)}
            ctx.print_json(shown)
        else:
            if reaches is not None:
                by = _confirmed_by(record, args.id, reaches, version.number)
                if following is None:
                    ctx.warn(f"{args.id}: the record reaches only to {jsonview.when(reaches)}, {by} that "
                             f"confirmed v{version.number}: shown as it stood then, not known to be in force at "
                             f"{jsonview.when(args.at)}")
                else:
                    ctx.warn(f"{args.id}: v{version.number} was last confirmed at {jsonview.when(reaches)} "
                             f"({by} that confirmed it) and v{following.number} first seen at "
                             f"{jsonview.when(following.first_seen)}: "
                             f"v{version.number} is shown as it stood then, not known to be in force at "
                             f"{jsonview.when(args.at)}")
            ctx.write(safe(text))
    return ExitStatus.OK


def _confirmed_by(record: Record, source_id: str, at: datetime, number: int) -> str:
    """What last confirmed version `number` at `at`, as the warning of `show --at` names it."""
    confirming = [o for o in record.outcomes_of(source_id) if o.at == at and o.version is not None
                  and o.version.number == number]
    kind = confirming[-1].run_kind if confirming else None
    return ("the last check" if kind == RunKind.CRAWL else
            "the last imported file" if kind == RunKind.IMPORT else "the last record")


def raw(ctx: Context, args: argparse.Namespace) -> int:
    """The bytes of a stored page, exactly as they were fetched, verified against their sha256."""
    from storage import blobs, queries
    from storage.db import reading

    with reading(ctx.factory(must_exist=True)) as session:
        data = blobs.read(session, queries.snapshot_sha256(session, args.sha256))
    if args.out:
        write_file(Path(args.out), data)
    elif ctx.out.isatty():
        raise UserError("the raw bytes of a page are not shown in a terminal: pass --out FILE or redirect the output")
    else:
        ctx.write_bytes(data)
    return ExitStatus.OK


def print_diff(ctx: Context, source_id: str, a: int | None = None, b: int | None = None, colour: str = "auto",
               context: int = 2, as_json: bool = False) -> int:
    from analysis.diff import diff_texts
    from storage import queries, texts
    from storage.db import reading

    with reading(ctx.factory(must_exist=True)) as session:
        versions = queries.versions_of(session, source_id)
        if len(versions) < 2 and (a is None or b is None):
            raise UserError(f"{source_id} has {len(versions)} version(s): nothing to compare")
        if b is None:
            b = versions[-1].number
        if a is None:
            a = versions[-2].number
        old = queries.version_by_number(session, source_id, a)
        new = queries.version_by_number(session, source_id, b)
        both = texts.read_many(session, (old.sha256, new.sha256))
        diff = diff_texts(both[old.sha256], both[new.sha256])
        if as_json:
            ctx.print_json(jsonview.diff_json(source_id, old, new, diff))
            return ExitStatus.OK
        ctx.say(f"{source_id}: v{old.number} ({jsonview.when(old.first_seen)}) → v{new.number} "
                f"({jsonview.when(new.first_seen)}): +{diff.words_added} / -{diff.words_removed} words")
        change = queries.change_for(session, new) if new.number == old.number + 1 else None
        if change is not None and change.flags:
            ctx.say(f"flags: {', '.join(change.flags)}  severity: {change.severity}")
            ctx.say(f"summary: {change.summary}")
        if change is not None and not change.analysed:
            ctx.say(f"analysis: {change.analysis_note or 'not analysed'}")
        ctx.write(render_diff(diff, use_colour(ctx.out, colour), context=context))
    return ExitStatus.OK


def diff(ctx: Context, args: argparse.Namespace) -> int:
    return print_diff(ctx, args.id, args.a, args.b, args.colour, args.context, args.json)


def changes(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.record() as record:
        rows = record.changes(args.source, args.since, flags=args.flag, severities=args.severity,
                              previous_analyses=args.json)
        if args.json:
            ctx.print_json([jsonview.change_json(r) for r in rows])
            return ExitStatus.OK
        for r in rows:
            c = r.change
            back = f" to v{r.reverts_to_number}" if r.reverts_to_number is not None else ""
            ctx.say(f"{jsonview.when(c.detected_at)}  {r.source.id}  v{r.from_number}→v{r.to_number}  {c.kind}{back}  "
                    f"+{c.words_added} / -{c.words_removed} words" + _meaning(c))
        if not rows:
            filtered = args.source or args.since or args.flag or args.severity
            ctx.say("no recorded change matches" if filtered else "no changes recorded")
    return ExitStatus.OK
