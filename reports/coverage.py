"""The Coverage part of the site: the index of articles, one page per article, and the coverage feeds.

What is published of an article is what a citation needs and no more: its
title, outlet, dates, language, link, its versions' dates and correction
notices, its syndicated copies, and the sentences the flagger cited, quoted
(``analysis.quotes``). Never its text, never its raw page.

Each page's key is a hash of exactly what it shows, so a nightly rebuild
rewrites only the pages of articles that changed, the index and the feeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from reports import feeds, urls
from reports.news_data import ArticleInfo
from reports.output import SiteWriter
from reports.render import render

FEED_STEM = "coverage"
FILTERS = ("language", "outlet", "vendor", "flag")


@dataclass(frozen=True)
class Row:
    article: ArticleInfo
    href: str


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
    return {name: sorted(found, key=str.casefold) for name, found in values.items()}


def index_context(articles: Sequence[ArticleInfo]) -> dict[str, Any]:
    path = urls.coverage_page()
    rows = [Row(a, urls.relative(path, urls.article_page(a.id))) for a in articles]
    return {"root": urls.root_of(path), "alternates": _alternates(path), "rows": rows, "choices": _choices(articles),
            "feeds": {fmt: urls.relative(path, urls.feed(FEED_STEM, fmt)) for fmt in ("atom", "rss")}}


def article_context(article: ArticleInfo, base_url: str) -> dict[str, Any]:
    path = urls.article_page(article.id)
    copies = [CopyLink(c.outlet, c.title, c.url, urls.relative(path, urls.article_page(c.id)), c.similarity)
              for c in article.copies]
    return {"root": urls.root_of(path), "alternates": _alternates(path), "article": article, "copies": copies,
            "coverage_href": urls.relative(path, urls.coverage_page()), "permalink": base_url + path}


def _entry(article: ArticleInfo, base_url: str) -> feeds.Entry:
    link = base_url + urls.article_page(article.id)
    content = render("coverage_entry.html", article=article, link=link)
    title = f"{article.outlet}: {article.title or article.url}"
    return feeds.Entry(urls.article_tag(article.id), title, link, article.first_seen, content, article.flags)


def write_coverage(writer: SiteWriter, articles: Sequence[ArticleInfo], base_url: str) -> None:
    """Every article's page, the Coverage index, and `feeds/coverage.atom|.rss` (newly found articles)."""
    for article in articles:
        path = urls.article_page(article.id)
        context = article_context(article, base_url)
        writer.produce(path, writer.key("article.html", context), lambda c=context: render("article.html", **c))
    context = index_context(articles)
    writer.produce(urls.coverage_page(), writer.key("coverage.html", context),
                   lambda: render("coverage.html", **context))
    newest = sorted(articles, key=lambda a: (a.first_seen, a.id), reverse=True)[:feeds.MAX_ENTRIES]
    key = writer.key("coverage-feed", newest)
    paths = {fmt: urls.feed(FEED_STEM, fmt) for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(urls.feed_tag(FEED_STEM), "policywatch: press coverage",
                          "Newly found articles about what AI vendors do with user data: title, outlet, date, link "
                          "and the sentences that carry a flag.", base_url + urls.coverage_page(),
                          {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_entry(a, base_url) for a in newest))
    for fmt, p in paths.items():
        writer.write(p, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.own(p, key)
