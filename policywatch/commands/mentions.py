"""`policywatch mentions`: the press sentences found mentioning a claim, stale repetitions marked, and a
reader's review of each (`mentions review ID confirm|reject`)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from analysis.claims.vocabulary import MentionReview
from analysis.quotes import quotes
from policywatch.commands.claims import require_recorded_claim
from policywatch.commands.context import Context, ExitStatus, UserError
from policywatch.jsonview import when
from storage.db import reading, transaction

# The mentions' queries (and through them the claims engine) are imported where they are used: `articles`
# shares this module's formatting, and reading the record needs none of them.
if TYPE_CHECKING:
    from storage.mentions_queries import MentionListing

VERDICTS = {"confirm": MentionReview.CONFIRMED, "reject": MentionReview.REJECTED}
SHORT_ID = 12


def quotation(listing: MentionListing) -> tuple[str, tuple[int, int] | None]:
    """The mention's sentence as a quotation (cut around the claim's words when long), and where the claim's
    words are in it."""
    m = listing.mention
    found = quotes([{"sentence": m.sentence, "start": m.span_start, "end": m.span_end}])
    if not found:
        return m.sentence, None
    return found[0].sentence, found[0].spans[0] if found[0].spans else None


def quoted(listing: MentionListing) -> str:
    return quotation(listing)[0]


def stale_note(listing: MentionListing) -> str:
    status = listing.status_then.label if listing.status_then is not None else ""
    return f"STALE REPETITION: the claim was {status} when the article appeared"


def mention_lines(listing: MentionListing, indent: str = "  ") -> list[str]:
    """Two lines: the mention's id, claim, stance and review (stale repetition marked), then the quoted
    sentence with outlet, date and article."""
    m, a = listing.mention, listing.article
    marks = [m.stance + (f" (“{m.cue}”)" if m.cue else ""), m.review]
    if listing.stale:
        marks.append(stale_note(listing))
    return [f"{indent}mention {m.id}  {m.claim_id}  {'  '.join(marks)}",
            f"{indent}  “{quoted(listing)}” — {a.outlet}, {when(listing.appeared)[:10]}, "
            f"{a.language or '??'}  {a.id[:SHORT_ID]} v{listing.version_number}  {a.canonical_url}"]


def mention_json(listing: MentionListing) -> dict[str, Any]:
    m, a = listing.mention, listing.article
    sentence, span = quotation(listing)
    return {
        "id": m.id, "claim": m.claim_id, "stance": m.stance, "cue": m.cue, "review": m.review,
        "reviewed_at": when(m.reviewed_at), "found_at": when(m.found_at), "stale": listing.stale,
        "claim_status_when_published": str(listing.status_then) if listing.status_then is not None else None,
        "sentence": sentence, "span": list(span) if span is not None else None,
        "article": {"id": a.id, "title": a.title, "outlet": a.outlet, "language": a.language,
                    "url": a.canonical_url, "published": a.published, "published_at": when(a.published_at),
                    "appeared": when(listing.appeared),
                    "version": listing.version_number},
    }


def list_mentions(ctx: Context, args: argparse.Namespace) -> int:
    with reading(ctx.factory(must_exist=True)) as session:
        if args.claim:
            require_recorded_claim(session, args.claim)
        from storage import mentions_queries

        # An article corrected since keeps its earlier versions' mentions on record; the latest one is what
        # the article says now, and what the site shows.
        rows = mentions_queries.listings(session, claim_id=args.claim, review=args.review,
                                         current_only=not args.all_versions)
        if args.stance:
            rows = [r for r in rows if r.mention.stance == args.stance]
        if args.stale:
            rows = [r for r in rows if r.stale]
        if args.json:
            ctx.print_json([mention_json(r) for r in rows])
            return ExitStatus.OK
        for row in rows:
            for line in mention_lines(row, indent=""):
                ctx.say(line)
        if not rows:
            ctx.say("no mentions recorded" + (" that match" if any((args.claim, args.review, args.stance, args.stale))
                                              else ""))
    return ExitStatus.OK


def _review(ctx: Context, args: argparse.Namespace) -> int:
    from storage.mentions_record import UnknownMention, review_mention

    if args.id is None or args.verdict is None:
        raise UserError("mentions review needs a mention id and a verdict: mentions review ID confirm|reject")
    try:
        mention_id = int(args.id)
    except ValueError:
        raise UserError(f"{args.id!r} is not a mention id (a number, as `policywatch mentions` lists them)") from None
    if args.verdict not in VERDICTS:
        raise UserError(f"unknown verdict {args.verdict!r}: confirm or reject")
    try:
        with transaction(ctx.factory(must_exist=True)) as session:
            row = review_mention(session, mention_id, VERDICTS[args.verdict], datetime.now(timezone.utc))
            claim_id = row.claim_id
    except UnknownMention:
        raise UserError(f"no mention {mention_id}: `policywatch mentions` lists them") from None
    ctx.say(f"mention {mention_id} ({claim_id}): {VERDICTS[args.verdict]}")
    return ExitStatus.OK


def mentions_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "review":
        return _review(ctx, args)
    if args.id is not None:
        raise UserError(f"unexpected {args.id!r}: `mentions review ID confirm|reject` reviews a mention")
    return list_mentions(ctx, args)
