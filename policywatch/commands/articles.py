"""Reading the news record: `articles` (the coverage found, newest first, filtered) and `article ID`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Sequence

from analysis.quotes import QuoteBudget, quotes
from policywatch import newsview
from policywatch.commands.claims import require_recorded_claim
from policywatch.commands.context import Context, ExitStatus
from policywatch.commands.mentions import mention_json, mention_lines, quoted
from policywatch.jsonview import when
from storage import news_queries
from storage.db import reading
from storage.news_queries import ArticleListing
from storage.vocabulary import ArticleStatus

# The mentions' queries bring the claims engine: imported by the commands that read mentions.
if TYPE_CHECKING:
    from storage import mentions_queries

SHORT_ID = 12


def _day(listing: ArticleListing) -> str:
    a = listing.article
    return (a.published or when(a.first_seen) or "")[:10]


def _badges(listing: ArticleListing) -> str:
    a = listing.article
    marks = []
    if listing.flags:
        marks.append(f"[{', '.join(listing.flags)}]")
    if a.status != ArticleStatus.READABLE:
        marks.append(f"({a.status})")
    if listing.versions > 1:
        marks.append(f"{listing.versions} versions" + (f", {listing.corrections} correction(s)" if listing.corrections
                                                          else ""))
    if a.tdm_reserved:
        marks.append("TDM reserved")
    if a.cluster_id is not None:
        marks.append(f"syndication cluster {a.cluster_id}")
    return "  ".join(marks)


def article_line(listing: ArticleListing) -> str:
    a = listing.article
    badges = _badges(listing)
    return (f"{_day(listing)}  {a.language or '??'}  {a.id[:SHORT_ID]}  {a.outlet} — {a.title or a.canonical_url}"
            + (f"  {badges}" if badges else ""))


def _matches(listing: ArticleListing, args: argparse.Namespace) -> bool:
    a = listing.article
    if args.language and (a.language or "").lower() not in {x.lower() for x in args.language}:
        return False
    if args.outlet and not any(o.lower() in (a.outlet.lower(), a.news_source_id.lower()) for o in args.outlet):
        return False
    if args.vendor and not {v.lower() for v in args.vendor} & {v.lower() for v in a.vendors or []}:
        return False
    if args.flag and not set(args.flag) & set(listing.flags):
        return False
    return True


def articles(ctx: Context, args: argparse.Namespace) -> int:
    with reading(ctx.factory(must_exist=True)) as session:
        rows = [r for r in news_queries.listings(session, args.since) if _matches(r, args)]
        if args.claim:
            require_recorded_claim(session, args.claim)
            from storage import mentions_queries

            mentioning = set(mentions_queries.article_ids_for_claim(session, args.claim))
            rows = [r for r in rows if r.article.id in mentioning]
        if args.json:
            ctx.print_json([newsview.article_json(r) for r in rows])
            return ExitStatus.OK
        for row in rows:
            ctx.say(article_line(row))
        if not rows:
            ctx.say("no articles recorded" + (" that match" if any((args.since, args.language, args.outlet,
                                                                     args.flag, args.vendor, args.claim)) else ""))
    return ExitStatus.OK


def _version_line(version: news_queries.ArticleVersion) -> str:
    size = f"{version.words} words" + ("" if version.text is not None else " (text not kept: TDM reservation)")
    step = (f"  +{version.words_added} / -{version.words_removed} words"
            if version.words_added is not None and version.words_removed is not None else "")
    flags = f"  flags: {', '.join(version.flags)}" if version.flags else ""
    return (f"  v{version.number}  {when(version.first_seen)}  confirmed {when(version.last_confirmed)}  {size}{step}"
            f"{'  correction' if version.is_correction else ''}{flags}")


def print_article(ctx: Context, reference: str, as_json: bool = False) -> int:
    with reading(ctx.factory(must_exist=True)) as session:
        found = news_queries.find_article(session, reference)
        listing = next(r for r in news_queries.listings(session) if r.article.id == found.id)
        versions = news_queries.article_versions(session, found.id)
        fetches = news_queries.article_fetches(session, found.id)
        aliases = news_queries.aliases_of(session, found.id)
        copies = [c for c in news_queries.cluster_members(session, found.cluster_id) if c.id != found.id]
        from storage import mentions_queries

        mentioned = mentions_queries.listings(session, version_ids=[versions[-1].id]) if versions else []
        # One quotation budget for the article, as on its page: the sentences that mention a claim first.
        budget = QuoteBudget(versions[-1].words if versions else None)
        mentioned = [m for m in mentioned if budget.admit(quoted(m))]
        if as_json:
            ctx.print_json(newsview.article_detail_json(listing, versions, fetches, aliases, copies, budget)
                           | {"mentions": [mention_json(m) for m in mentioned]})
            return ExitStatus.OK
        a = found
        ctx.say(f"{a.id}")
        ctx.say(f"{a.title or '(no title)'}")
        ctx.say(f"  outlet: {a.outlet} ({a.outlet_type}), found by {a.news_source_id}; "
                f"language: {a.language or 'unknown'}" + (f"; by {a.author}" if a.author else ""))
        ctx.say(f"  published: {a.published or 'not declared'}" + (f"; modified: {a.modified}" if a.modified else ""))
        ctx.say(f"  first seen {when(a.first_seen)}; last checked {when(a.last_checked)}; "
                + (f"next check {when(a.next_check)}" if a.next_check else "no further checks scheduled"))
        ctx.say(f"  status: {a.status}" + ("; the publisher reserves text and data mining (TDMRep): only the flagged "
                                           "sentences are kept" if a.tdm_reserved else ""))
        ctx.say(f"  link: {a.canonical_url}")
        if a.vendors or a.topics:
            ctx.say(f"  about: {', '.join(a.vendors or [])} — {', '.join(a.topics or [])}")
        if versions:
            ctx.say("versions:")
            for version in versions:
                ctx.say(_version_line(version))
                for notice in (version.corrections or []) if version.is_correction else []:
                    ctx.say(f"      “{notice.get('notice', '')}”")
        failed = [f for f in fetches if f.failure_kind]
        if failed:
            latest = failed[-1]
            ctx.say(f"{len(failed)} fetch(es) not readable, latest {when(latest.at)}: {latest.failure_kind}: "
                    f"{latest.detail or ''}")
        if copies:
            ctx.say("syndicated copies:")
            for copy in copies:
                similarity = f"  similarity {copy.cluster_similarity:.2f}" if copy.cluster_similarity else ""
                ctx.say(f"  {copy.id[:SHORT_ID]}  {copy.outlet}: {copy.title or ''}  {copy.canonical_url}{similarity}")
        _print_quotes(ctx, versions, budget)
        if versions:
            _print_mentions(ctx, mentioned, versions[-1].number)
        if aliases:
            ctx.say("also met as:")
            for url in aliases:
                ctx.say(f"  {url}")
    return ExitStatus.OK


def _print_quotes(ctx: Context, versions: Sequence[news_queries.ArticleVersion], budget: QuoteBudget) -> None:
    if not versions:
        return
    latest = versions[-1]
    found = quotes(latest.evidence or [], latest.words, budget=budget)
    if not found:
        ctx.say(f"no flagged sentences in v{latest.number}")
        return
    ctx.say(f"flagged sentences (v{latest.number}):")
    for quote in found:
        ctx.say(f"  [{', '.join(quote.categories)}] “{quote.sentence}”")


def _print_mentions(ctx: Context, found: Sequence[mentions_queries.MentionListing], number: int) -> None:
    if not found:
        ctx.say(f"no sentence mentions a claim in v{number}")
        return
    ctx.say(f"sentences that mention a claim (v{number}):")
    for listing in sorted(found, key=lambda m: (m.mention.sentence_index, m.mention.claim_id)):
        for line in mention_lines(listing):
            ctx.say(line)


def article(ctx: Context, args: argparse.Namespace) -> int:
    return print_article(ctx, args.id, args.json)
