"""One fetched news page through every check, in the order the pipeline needs:
identity, TDM reservation, extraction, walls, relevance on the body.

The spider calls ``screen`` on a feed item before fetching anything and
``process_page`` on what it fetched; both are pure. What to store follows
from the outcome's kind: a kept article with its identity, aliases, text
(or, under a TDM reservation, only its metadata and matched sentences) and
corrections; a wall or an unreadable page as a failed fetch that never
becomes a version; an off-topic page not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable, Mapping

from analysis.relevance import Relevance, judge_article, judge_candidate
from ingest.news.article import Article, NoArticleText, extract_article
from ingest.news.declarations import NewsConfig
from ingest.news.discovery import Candidate
from ingest.news.guard import TdmReservation, TdmRule, Wall, check_walls, tdm_reservation
from ingest.news.page import Page, PageError
from ingest.news.urls import ArticleIdentity, UrlError, page_urls, resolve_identity


class OutcomeKind(StrEnum):
    KEPT = "kept"  # an article about a vendor's data practices
    OFF_TOPIC = "off_topic"  # readable, but not about a tracked vendor's data practices: not stored
    PAYWALL = "paywall"
    CONSENT_WALL = "consent_wall"
    EMPTY = "empty"  # no article text
    UNREADABLE = "unreadable"  # not HTML that can be read, or no usable URL


@dataclass(frozen=True)
class PageOutcome:
    kind: OutcomeKind
    detail: str
    identity: ArticleIdentity | None = None
    tdm: TdmReservation | None = None
    article: Article | None = None
    relevance: Relevance | None = None
    wall: Wall | None = None

    @property
    def text_may_be_kept(self) -> bool:
        """Whether the full text may be stored: a kept article whose publisher reserves no TDM rights."""
        return self.kind is OutcomeKind.KEPT and self.tdm is not None and not self.tdm.reserved


def screen(candidate: Candidate, config: NewsConfig) -> Relevance:
    """Relevance of a feed item from its title and summary, before anything is fetched."""
    return judge_candidate(config.relevance, candidate.language, candidate.title, candidate.summary)


def process_page(candidate: Candidate, body: bytes, final_url: str, config: NewsConfig, *,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] = (), encoding: str | None = None,
                 tdmrep_rules: Iterable[TdmRule] = ()) -> PageOutcome:
    """Everything the pipeline decides about one fetched article page.

    ``final_url`` is where the fetch ended after redirects, ``headers`` the
    response headers, ``encoding`` the charset of its Content-Type, and
    ``tdmrep_rules`` the parsed ``/.well-known/tdmrep.json`` of the site.
    """
    page = Page(body, final_url, encoding)
    seen_as = [candidate.url] + ([candidate.guid] if candidate.guid and candidate.guid.startswith("http") else [])
    try:
        identity = resolve_identity(final_url, page_urls(page.tree, final_url), also_seen_as=seen_as)
    except (PageError, UrlError) as exc:
        return PageOutcome(OutcomeKind.UNREADABLE, str(exc))
    tdm = tdm_reservation(headers=headers, page=page, tdmrep_rules=tdmrep_rules, url=final_url)
    try:
        article: Article | None = extract_article(page, markers=config.markers, declared_language=candidate.language)
    except NoArticleText:
        article = None
    wall = check_walls(page, article.words if article else 0, config.markers)
    if wall is not None:
        return PageOutcome(OutcomeKind(wall.kind), wall.detail, identity, tdm, wall=wall)
    if article is None:
        return PageOutcome(OutcomeKind.EMPTY, f"{final_url}: no article text found", identity, tdm)
    relevance = judge_article(config.relevance, article.language, article.title or candidate.title, article.text)
    if not relevance.relevant:
        return PageOutcome(OutcomeKind.OFF_TOPIC, "names no tracked vendor near a data-practice topic",
                           identity, tdm, article, relevance)
    detail = f"{', '.join(relevance.vendors)}: {', '.join(relevance.topics)}"
    return PageOutcome(OutcomeKind.KEPT, detail, identity, tdm, article, relevance)
