"""The Coverage part of the site: the index of articles, one page per article, and the coverage feeds.

What is published of an article is what a citation needs and no more: its
title, outlet, dates, language, link, its versions' dates and correction
notices, its syndicated copies, the sentences the flagger cited and those
that mention a claim, quoted (``analysis.quotes``). Never its text, never its
raw page.

Besides `feeds/coverage.atom|.rss` (every newly found article, with the
claims it mentions), each claim mentioned in the press gets its own coverage
feed, `feeds/coverage/<claim id>.atom|.rss`: the articles that mention it,
newest first, stale repetitions marked.

Each page's key is a hash of exactly what it shows, so a nightly rebuild
rewrites only the pages of articles that changed, the index and the feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from reports import feeds, urls
from analysis.quotes import Quote
from reports.news_data import ArticleInfo, MentionInfo
from reports.output import SiteWriter
from reports.render import render

FEED_STEM = "coverage"
FILTERS = ("language", "outlet", "vendor", "flag", "claim")


@dataclass(frozen=True)
class Row:
    article: ArticleInfo
    href: str


@dataclass(frozen=True)
class ClaimMention:
    """A mention as an article page shows it: with the claim's statement and a link to its page."""

    claim_id: str
    statement: str
    href: str
    quote: Quote
    stance: str
    stale: bool
    status_then: str | None
    review: str


@dataclass(frozen=True)
class CopyLink:
    outlet: str
    title: str | None
    url: str
    href: str
    similarity: float | None


def _alternates(path: str) -> list[dict[str, str]]:
    return [{"href": urls.relative(path, urls.feed(FEED_STEM, fmt)), "title": f"Newly found articles ({name})",
             "type": kind} for fmt, name, kind in (("atom", "Atom", "application/atom+xml"),
                                                   ("rss", "RSS", "application/rss+xml"))]


def _choices(articles: Sequence[ArticleInfo]) -> dict[str, list[str]]:
    values: dict[str, set[str]] = {name: set() for name in FILTERS}
    for a in articles:
        if a.language:
            values["language"].add(a.language)
        values["outlet"].add(a.outlet)
        values["vendor"].update(a.vendors)
        values["flag"].update(a.flags)
        values["claim"].update(a.claims)
    return {name: sorted(found, key=str.casefold) for name, found in values.items()}


def index_context(articles: Sequence[ArticleInfo]) -> dict[str, Any]:
    path = urls.coverage_page()
    rows = [Row(a, urls.relative(path, urls.article_page(a.id))) for a in articles]
    return {"root": urls.root_of(path), "alternates": _alternates(path), "rows": rows, "choices": _choices(articles),
            "feeds": {fmt: urls.relative(path, urls.feed(FEED_STEM, fmt)) for fmt in ("atom", "rss")}}


def _claim_mention(m: MentionInfo, path: str, statements: Mapping[str, str]) -> ClaimMention:
    href = urls.relative(path, urls.claim_page(m.claim_id))
    return ClaimMention(m.claim_id, statements.get(m.claim_id, m.claim_id), href, m.quote, m.stance, m.stale,
                        m.status_then, m.review)


def article_context(article: ArticleInfo, base_url: str, statements: Mapping[str, str] | None = None) -> dict[str, Any]:
    path = urls.article_page(article.id)
    copies = [CopyLink(c.outlet, c.title, c.url, urls.relative(path, urls.article_page(c.id)), c.similarity)
              for c in article.copies]
    mentions = [_claim_mention(m, path, statements or {}) for m in article.mentions]
    return {"root": urls.root_of(path), "alternates": _alternates(path), "article": article, "copies": copies,
            "mentions": mentions, "coverage_href": urls.relative(path, urls.coverage_page()),
            "permalink": base_url + path}


def _entry(article: ArticleInfo, base_url: str) -> feeds.Entry:
    link = base_url + urls.article_page(article.id)
    claim_links = {cid: base_url + urls.claim_page(cid) for cid in article.claims}
    content = render("coverage_entry.html", article=article, link=link, claim_links=claim_links)
    title = f"{article.outlet}: {article.title or article.url}"
    if article.stale:
        title = "[stale repetition] " + title
    return feeds.Entry(urls.article_tag(article.id), title, link, article.first_seen, content,
                       article.flags + article.claims)


def _write_feed(writer: SiteWriter, stem: str, tag: str, title: str, subtitle: str, html_path: str,
                articles: Sequence[ArticleInfo], base_url: str, since: datetime | None) -> None:
    newest = sorted(articles, key=lambda a: (a.first_seen, a.id), reverse=True)[:feeds.MAX_ENTRIES]
    key = writer.key("coverage-feed", stem, title, since, newest)
    paths = {fmt: urls.feed(stem, fmt) for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(tag, title, subtitle, base_url + html_path, {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_entry(a, base_url) for a in newest), since)
    for fmt, p in paths.items():
        writer.write(p, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.own(p, key)


def claim_coverage_stem(claim_id: str) -> str:
    return urls.claim_coverage_feed(claim_id, "atom")[len("feeds/"):-len(".atom")]


def write_coverage(writer: SiteWriter, articles: Sequence[ArticleInfo], base_url: str,
                   statements: Mapping[str, str] | None = None, since: datetime | None = None) -> None:
    """Every article's page, the Coverage index, `feeds/coverage.atom|.rss` (newly found articles) and one
    coverage feed per claim mentioned (`statements`: each claim's statement, for its feed's title; `since`: when
    the record began, the `updated` of a feed without articles)."""
    statements = statements or {}
    for article in articles:
        path = urls.article_page(article.id)
        context = article_context(article, base_url, statements)
        writer.produce(path, writer.key("article.html", context), lambda c=context: render("article.html", **c))
    context = index_context(articles)
    writer.produce(urls.coverage_page(), writer.key("coverage.html", context),
                   lambda: render("coverage.html", **context))
    _write_feed(writer, FEED_STEM, urls.feed_tag(FEED_STEM), "policywatch: press coverage",
                "Newly found articles about what AI vendors do with user data: title, outlet, date, link, the "
                "sentences that carry a flag and those that mention a claim.", urls.coverage_page(), articles,
                base_url, since)
    claims = sorted({cid for a in articles for cid in a.claims})
    for claim_id in claims:
        statement = statements.get(claim_id, claim_id)
        _write_feed(writer, claim_coverage_stem(claim_id), urls.feed_tag(f"coverage/{claim_id}"),
                    f"policywatch: press coverage of “{statement}”",
                    f"Newly found articles that mention the claim {claim_id}, with the sentences that do; stale "
                    f"repetitions marked.", urls.claim_page(claim_id), [a for a in articles if claim_id in a.claims],
                    base_url, since)
