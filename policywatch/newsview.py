"""The stable machine-readable forms of news articles printed by `articles --json` and `article --json`
(documented in README). Like the site, they quote flagged sentences, never an article's text."""

from __future__ import annotations

from typing import Any, Sequence

from analysis.quotes import Quote, QuoteBudget, quotes
from policywatch.jsonview import when
from storage.news_models import ArticleFetch, ArticleRow, ArticleVersion
from storage.news_queries import ArticleListing


def quote_json(quote: Quote) -> dict[str, Any]:
    return {"sentence": quote.sentence, "categories": list(quote.categories),
            "matches": [{"start": s, "end": e, "text": quote.sentence[s:e]} for s, e in quote.spans]}


def article_json(listing: ArticleListing) -> dict[str, Any]:
    a = listing.article
    return {
        "id": a.id, "url": a.canonical_url, "title": a.title, "outlet": a.outlet, "outlet_type": a.outlet_type,
        "news_source": a.news_source_id, "language": a.language, "author": a.author, "published": a.published,
        "published_at": when(a.published_at), "modified": a.modified, "first_seen": when(a.first_seen),
        "last_checked": when(a.last_checked),
        "next_check": when(a.next_check), "status": a.status, "tdm_reserved": bool(a.tdm_reserved),
        "vendors": list(a.vendors or []), "topics": list(a.topics or []), "flags": list(listing.flags),
        "versions": listing.versions, "corrections": listing.corrections, "cluster": a.cluster_id,
    }


def version_json(version: ArticleVersion, budget: QuoteBudget | None = None) -> dict[str, Any]:
    """`budget`: what the article's other quotations (its mentions) left, as its page and `article` apply it."""
    return {
        "number": version.number, "first_seen": when(version.first_seen),
        "last_confirmed": when(version.last_confirmed), "sha256": version.sha256, "words": version.words,
        "title": version.title, "published": version.published, "modified": version.modified,
        "language": version.language, "text_kept": version.text is not None,
        "words_added": version.words_added, "words_removed": version.words_removed,
        "is_correction": bool(version.is_correction), "corrections": list(version.corrections or []),
        "flags": list(version.flags or []),
        "quotes": [quote_json(q) for q in quotes(version.evidence or [], version.words, budget=budget)],
    }


def fetch_json(fetch: ArticleFetch) -> dict[str, Any]:
    return {"at": when(fetch.at), "run": fetch.run_id, "reason": fetch.reason, "url": fetch.url,
            "final_url": fetch.final_url, "http_status": fetch.http_status, "outcome": fetch.outcome,
            "failure_kind": fetch.failure_kind, "detail": fetch.detail, "raw_sha256": fetch.raw_sha256}


def article_detail_json(listing: ArticleListing, versions: Sequence[ArticleVersion], fetches: Sequence[ArticleFetch],
                        aliases: Sequence[str], copies: Sequence[ArticleRow],
                        latest_budget: QuoteBudget | None = None) -> dict[str, Any]:
    return article_json(listing) | {
        "aliases": list(aliases), "canonical_elsewhere": listing.article.canonical_elsewhere,
        "syndicated": [{"id": c.id, "url": c.canonical_url, "outlet": c.outlet, "title": c.title,
                        "similarity": c.cluster_similarity} for c in copies if c.id != listing.article.id],
        "versions": [version_json(v, latest_budget if v is versions[-1] else None) for v in versions],
        "fetches": [fetch_json(f) for f in fetches],
    }
