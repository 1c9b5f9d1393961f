"""What the `news` spider hands on: one item per news document (feed, sitemap, GDELT answer) and one per
article page."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.news.night import ArticleTarget, DocumentPlan, Fetched


@dataclass
class NewsDocument:
    """A news source's document as fetched; the frontier adds what it plans from it."""

    source_id: str
    fetched: Fetched
    follow_sitemaps: bool = True  # a sitemap index's children are read, their own children are not
    plan: DocumentPlan | None = None


@dataclass
class NewsPage:
    """An article page as fetched, with the target it was fetched for."""

    target: ArticleTarget
    fetched: Fetched
