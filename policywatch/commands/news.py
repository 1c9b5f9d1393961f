"""`policywatch news`: read the news sources, fetch the new articles and the known ones due again, and say
what coverage was found."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from policywatch.commands.context import Context, ExitStatus, UserError, outcome_status
from policywatch.commands.mentions import mention_lines
from policywatch.jsonview import when
from storage.db import reading
from storage.models import Run
from storage.news_models import ArticleFetch, ArticleRow, ArticleVersion, FeedFetch
from storage.vocabulary import ArticleOutcome, FetchReason

if TYPE_CHECKING:
    from crawler.runner import CrawlResult

SHORT_ID = 12


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def news_run_line(session: Session, run: Run) -> str:
    fetches = session.scalars(select(ArticleFetch).where(ArticleFetch.run_id == run.id)).all()
    refetched = sum(1 for f in fetches if f.reason == FetchReason.REFETCH)
    # An article is new in the run that made its first fetch, readable or walled.
    seen = {f.article_id for f in fetches if f.article_id is not None}
    earlier = set(session.scalars(select(ArticleFetch.article_id).where(
        ArticleFetch.article_id.in_(seen), ArticleFetch.run_id < run.id).distinct())) if seen else set()
    return (f"news run {run.id} ({run.status}): {_plural(run.sources_checked, 'news source')} read, "
            f"{_plural(len(seen - earlier), 'new article')}, {_plural(run.changes, 'new edition')}, "
            f"{_plural(refetched, 'article')} checked again, {_plural(run.failures, 'source')} failed")


def coverage_lines(session: Session, run_id: int) -> list[str]:
    """One line per article page the run fetched: new articles and editions, walls, off-topic pages, failures."""
    lines: list[str] = []
    rows = session.execute(select(ArticleFetch, ArticleRow, ArticleVersion)
                           .outerjoin(ArticleRow, ArticleRow.id == ArticleFetch.article_id)
                           .outerjoin(ArticleVersion, ArticleVersion.id == ArticleFetch.version_id)
                           .where(ArticleFetch.run_id == run_id).order_by(ArticleFetch.id)).all()
    for fetch, article, version in rows:
        name = f"{article.outlet} — {article.title or article.canonical_url}" if article is not None else fetch.url
        short = f"{article.id[:SHORT_ID]}  " if article is not None else ""
        language = f"{article.language or '??'}  " if article is not None else ""
        if fetch.outcome == ArticleOutcome.FIRST and version is not None:
            marks = [f"flags: {', '.join(version.flags)}"] if version.flags else ["no flagged sentence"]
            if version.tdm_reserved:
                marks.append("TDM reserved: text not kept")
            if article is not None and article.cluster_id is not None and article.cluster_similarity is not None:
                marks.append(f"syndicated copy (cluster {article.cluster_id}, "
                             f"similarity {article.cluster_similarity:.2f})")
            lines.append(f"  new article      {short}{language}{name}  [{'; '.join(marks)}]")
        elif fetch.outcome == ArticleOutcome.CHANGED and version is not None:
            what = "a correction" if version.is_correction else "an update"
            step = (f", +{version.words_added} / -{version.words_removed} words"
                    if version.words_added is not None else "")
            lines.append(f"  new edition      {short}{language}{name}  [v{version.number}: {what}{step}]")
        elif fetch.outcome == ArticleOutcome.UNCHANGED:
            lines.append(f"  unchanged        {short}{language}{name}")
        elif fetch.outcome == ArticleOutcome.OFF_TOPIC:
            lines.append(f"  off topic        {fetch.url}  (not kept: {fetch.detail or 'not about a tracked vendor'})")
        else:
            lines.append(f"  not readable     {short}{name}  ({fetch.failure_kind}: {fetch.detail or ''})")
    for feed in session.scalars(select(FeedFetch).where(FeedFetch.run_id == run_id, FeedFetch.failure_kind.is_not(None))
                                .order_by(FeedFetch.id)):
        lines.append(f"  failed news source {feed.news_source_id}: {feed.failure_kind}: {feed.detail or ''}")
    return lines


def report_news_runs(ctx: Context, results: Sequence[CrawlResult], quiet: bool = False,
                     log: Callable[[str], None] | None = None) -> ExitStatus:
    """The run line and the coverage found (unless quiet: then failed news sources only); the exit status.
    `log` gets the run line and the failed news sources too."""
    worst = ExitStatus.OK
    with reading(ctx.factory()) as session:
        for result in results:
            run_id = result.run_id
            run = session.get_one(Run, run_id)
            fetches = session.scalars(select(ArticleFetch).where(ArticleFetch.run_id == run_id)).all()
            if run.sources_checked:
                worst = max(worst, outcome_status(run.sources_checked, run.failures))
            lines = coverage_lines(session, run_id)
            from storage import mentions_queries

            found = mentions_queries.listings(session, run_id=run_id)
            stale = [m for m in found if m.stale]
            if log is not None:
                log(news_run_line(session, run))
                for line in lines:
                    if line.startswith("  failed news source"):
                        log(line.strip())
                for listing in stale:
                    log(" ".join(part.strip() for part in mention_lines(listing)))
            if quiet:
                for line in lines:
                    if line.startswith("  failed news source"):
                        ctx.say(line.strip())
                for listing in stale:
                    for line in mention_lines(listing, indent=""):
                        ctx.say(line)
                continue
            ctx.say(news_run_line(session, run))
            for line in lines:
                ctx.say(line)
            if found:
                ctx.say(f"  claims mentioned ({len(found)} sentence(s), {len(stale)} stale repetition(s)):")
                for listing in found:
                    for line in mention_lines(listing, indent="    "):
                        ctx.say(line)
            counted = Counter(f.failure_kind for f in fetches if f.failure_kind)
            if counted:
                ctx.say("  article pages not readable: " + ", ".join(f"{k} {n}" for k, n in sorted(counted.items()))
                        + f" (at {when(run.finished_at)})")
    return worst


def handed_mentions(ctx: Context) -> dict[str, Any]:
    """The claims whose mentions the night looks for, read before it starts and handed to the crawl: a claims
    file that does not load stops the command (exit 2) before anything is recorded. Had the night gone on
    without them, the articles it stored would never be read for mentions (nothing tells a later night they
    were missed)."""
    from crawler.loaded import MENTIONS_PLAN, Handed
    from ingest.declarations import DeclarationError
    from ingest.mentions import MentionsPlan

    plan = MentionsPlan.for_night(Path(ctx.settings.claims))
    try:
        plan.claims()
    except DeclarationError as exc:
        raise UserError(f"{exc} (no article is read for mentions of claims that do not load: fix the file, or "
                        f"name another with --claims)") from None
    return {MENTIONS_PLAN: Handed(plan)}


def news(ctx: Context, args: argparse.Namespace) -> int:
    from crawler.runner import news_plan, run_crawls
    from ingest.news.declarations import select_news

    config = ctx.news()
    selected = select_news(config.sources, args.only)
    if not selected:
        raise UserError(f"no news source is enabled in {ctx.settings.news}: enable one, or name one with --only")
    ctx.engine()  # schema errors surface before the crawl starts
    extra = {"LOG_LEVEL": "INFO" if ctx.verbose else "WARNING", **handed_mentions(ctx)}
    results = run_crawls(ctx.settings.crawl_options(), [news_plan(only=args.only or (), now=args.now)], extra)
    return report_news_runs(ctx, results, quiet=ctx.quiet)
