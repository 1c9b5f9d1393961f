"""Reading the record: `history`, `show`, `diff` and `changes`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from analysis.diff import diff_texts
from analysis.vocabulary import FlagCategory, Severity
from policywatch import jsonview
from policywatch.commands.context import AddCommand, Context, ExitStatus, UserError, time_argument
from policywatch.terminal import render_diff, safe, use_colour
from storage import blobs, ledger, queries, texts
from storage.db import reading
from storage.models import Change
from storage.vocabulary import Outcome


def _change_brief(row: queries.ChangeRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    change = row.change
    return {"kind": change.kind, "words_added": change.words_added, "words_removed": change.words_removed,
            "reverts_to_version": row.reverts_to_number,
            "analysed": change.analysed, "analysis_note": change.analysis_note, "note": change.note}


def _meaning(change: Change) -> str:
    """What the flagger made of a change, for one line: its severity and summary when flagged, why it was
    not (fully) analysed when it was not."""
    if not change.analysed:
        return f"  ({change.analysis_note or 'not analysed'})"
    return f"  [{change.severity}] {change.summary}" if change.flags else ""


def print_history(ctx: Context, source_id: str, as_json: bool = False) -> int:
    with reading(ctx.factory(must_exist=True)) as session:
        versions = queries.versions_of(session, source_id)
        text_of = texts.of_versions(session, versions)
        outcomes = queries.outcomes_of(session, source_id)
        rows = {row.change.to_version_id: row for row in queries.changes(session, source_id)}
        changes = {vid: row.change for vid, row in rows.items()}
        if as_json:
            links = ledger.version_links(session, source_id)
            ctx.print_json({"source": source_id,
                            "versions": [jsonview.version_json(v, text_of[v.id], links.get(v.number))
                                         | {"change": _change_brief(rows.get(v.id))}
                                         for v in versions],
                            "outcomes": [jsonview.outcome_json(o) for o in outcomes]})
            return ExitStatus.OK
        source = queries.get_source(session, source_id)
        ctx.say(f"{source.id}: {source.vendor} — {source.title} ({source.language})")
        for v in versions:
            change = changes.get(v.id)
            back = rows[v.id].reverts_to_number if change is not None else None
            what = "first version" if change is None else (
                f"{change.kind}{f' to v{back}' if back is not None else ''}: "
                f"+{change.words_added} / -{change.words_removed} words" + _meaning(change))
            ctx.say(f"  v{v.number}  {jsonview.when(v.first_seen)}  confirmed {jsonview.when(v.last_confirmed)}  "
                    f"{len(text_of[v.id].split())} words  {what}")
            if change is not None and change.note:
                ctx.say(f"      note: {change.note}")
        for o in outcomes:
            if o.outcome in (Outcome.PENDING, Outcome.DROPPED):
                ctx.say(f"  {o.outcome}  {jsonview.when(o.at)}  {o.detail or ''}")
        failed = [o for o in outcomes if o.outcome == Outcome.FAILED]
        if failed:
            latest = failed[-1]
            ctx.say(f"  {len(failed)} failed fetch(es), latest {jsonview.when(latest.at)}: "
                    f"{latest.failure_kind}: {latest.detail or ''}")
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
    with reading(ctx.factory(must_exist=True)) as session:
        if args.version is not None:
            version = queries.version_by_number(session, args.id, args.version)
        elif args.at is not None:
            version = queries.version_at(session, args.id, args.at)
        else:
            version = queries.latest_version(session, args.id)
        if args.json:
            links = ledger.version_links(session, version.source_id)
            ctx.print_json(jsonview.version_json(version, texts.of(session, version), links.get(version.number),
                                                 with_text=True))
        else:
            sys.stdout.write(safe(texts.of(session, version)))
    return ExitStatus.OK


def raw(ctx: Context, args: argparse.Namespace) -> int:
    """The bytes of a stored page, exactly as they were fetched, verified against their sha256."""
    with reading(ctx.factory(must_exist=True)) as session:
        data = blobs.read(session, queries.snapshot_sha256(session, args.sha256))
    if args.out:
        Path(args.out).write_bytes(data)
    elif sys.stdout.isatty():
        raise UserError("the raw bytes of a page are not shown in a terminal: pass --out FILE or redirect the output")
    else:
        sys.stdout.buffer.write(data)
    return ExitStatus.OK


def print_diff(ctx: Context, source_id: str, a: int | None = None, b: int | None = None, colour: str = "auto",
               context: int = 2, as_json: bool = False) -> int:
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
        ctx.out.write(render_diff(diff, use_colour(ctx.out, colour), context=context))
    return ExitStatus.OK


def diff(ctx: Context, args: argparse.Namespace) -> int:
    return print_diff(ctx, args.id, args.a, args.b, args.colour, args.context, args.json)


def changes(ctx: Context, args: argparse.Namespace) -> int:
    with reading(ctx.factory(must_exist=True)) as session:
        rows = queries.changes(session, args.source, args.since, flags=args.flag, severities=args.severity)
        if args.json:
            ctx.print_json([jsonview.change_json(r) for r in rows])
            return ExitStatus.OK
        for r in rows:
            c = r.change
            back = f" to v{r.reverts_to_number}" if r.reverts_to_number is not None else ""
            ctx.say(f"{jsonview.when(c.detected_at)}  {r.source.id}  v{r.from_number}→v{r.to_number}  {c.kind}{back}  "
                    f"+{c.words_added} / -{c.words_removed} words" + _meaning(c))
        if not rows:
            ctx.say("no changes recorded")
    return ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("history", history, "versions and fetch outcomes of one source")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")

    p = add("show", show, "print one version's text (default: the latest)")
    p.add_argument("id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--version", type=int, metavar="N")
    group.add_argument("--at", type=time_argument, metavar="TIME", help="the version in force at TIME")
    p.add_argument("--json", action="store_true")

    p = add("raw", raw, "write the raw bytes of a stored page (a version's snapshot or a refused page), "
            "verified against their sha256")
    p.add_argument("sha256", metavar="SHA256", help="the page's sha256, or its first 8 or more characters")
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output, when not a terminal)")

    p = add("diff", diff, "word diff between two versions (default: the last two)")
    p.add_argument("id")
    p.add_argument("a", nargs="?", type=int, help="older version number")
    p.add_argument("b", nargs="?", type=int, help="newer version number (default: the latest)")
    p.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--context", type=int, default=2, metavar="LINES")
    p.add_argument("--json", action="store_true")

    categories = [str(c) for c in FlagCategory]
    p = add("changes", changes, "recorded changes, newest first")
    p.add_argument("--source", metavar="ID")
    p.add_argument("--since", type=time_argument, metavar="TIME")
    p.add_argument("--flag", action="append", choices=categories, metavar="CATEGORY",
                   help=f"only changes flagged with CATEGORY ({', '.join(categories)}); repeatable")
    p.add_argument("--severity", action="append", choices=[str(s) for s in Severity],
                   help="only changes of this severity; repeatable")
    p.add_argument("--json", action="store_true")
