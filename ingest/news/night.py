"""One night of news, between the crawler's fetches and storage.

For each document a news source serves (feed, sitemap, GDELT answer): read
its candidates, drop the ones the record already knows (an article's
canonical URL or alias, an item found off topic, one that failed too many
nights), screen the rest on title and summary, and admit what the night's
budget allows: those are the article pages to fetch. For each fetched page:
the identity, TDM, extraction, walls and relevance checks
(``ingest.news.process``), then the record: a new article or edition with
its flags, corrections and syndication cluster; a wall or a failure with its
kind; an off-topic page as fetched and nothing more. Known articles are
fetched again on the schedule of ``ingest.news.schedule``.

Nothing here fetches: the crawler does, politely, and hands the bytes over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from analysis.syndication import SCHEME, SyndicationIndex, signature_from_bytes
from ingest.declarations import DeclarationError
from ingest.guard import HTML_TYPES, content_type_charset
from ingest.mentions import MentionsPlan, RescanReport, rescan, scan_version
from ingest.news.declarations import NewsConfig, NewsSource
from ingest.news.discovery import Candidate, DiscoveryError, NightBudget, discover
from ingest.news.edition import declared_time, edition_facts
from ingest.news.guard import TdmRule
from ingest.news.limits import NightLimits
from ingest.news.page import Page, PageError
from ingest.news.process import OutcomeKind, PageOutcome, process_page, screen
from ingest.news.schedule import DUE_MARGIN, next_check
from ingest.news.urls import UrlError, candidate_key
from ingest.results import FetchFailure
from ingest.runs import begin_run
from storage import news_queries
from storage.db import transaction
from storage.models import Run
from storage.news_models import MAX_URL_CHARS, ArticleRow
from storage.news_record import (ArticleFields, FeedReading, NewsSourceFields, PageFetch, Sighting, add_aliases,
                                 current_article_version, finish_news_run, join_cluster, latest_feed_fetch,
                                 record_article_fetch, record_discovery, record_feed_fetch, schedule,
                                 upsert_article, upsert_news_source)
from storage.vocabulary import ArticleOutcome, ArticleStatus, DiscoveryDecision, FailureKind, FetchReason, RunKind

_WALLS = {OutcomeKind.PAYWALL: ArticleStatus.PAYWALL, OutcomeKind.CONSENT_WALL: ArticleStatus.CONSENT_WALL}
_UNREADABLE = {OutcomeKind.EMPTY: FailureKind.EMPTY, OutcomeKind.UNREADABLE: FailureKind.DECODE_ERROR}


@dataclass(frozen=True)
class Fetched:
    """What the crawler got for one request (or why it got nothing)."""

    url: str  # as requested
    final_url: str | None = None  # after redirects
    status: int | None = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    failure: FetchFailure | None = None
    tdmrep_rules: tuple[TdmRule, ...] = ()  # the site's /.well-known/tdmrep.json, parsed

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(frozen=True)
class ArticleTarget:
    """An article page to fetch, and why."""

    url: str
    key: str  # ingest.news.urls.candidate_key(url)
    news_source_id: str
    reason: FetchReason
    candidate: Candidate
    sighting: Sighting | None = None  # what the feed said (discovered items)
    article_id: str | None = None  # the known article (re-fetches)


@dataclass(frozen=True)
class DocumentPlan:
    reading: FeedReading
    seen_again: tuple[tuple[Sighting, str], ...] = ()  # items naming recorded articles, with their ids
    targets: tuple[ArticleTarget, ...] = ()
    sitemaps: tuple[str, ...] = ()  # child sitemaps of a sitemap index, to read next


@dataclass(frozen=True)
class PageResult:
    target: ArticleTarget
    outcome: str  # storage.vocabulary.ArticleOutcome
    article_id: str | None = None
    failure_kind: str | None = None
    detail: str = ""


def _http_failure(fetched: Fetched) -> FetchFailure | None:
    if fetched.failure is not None:
        return fetched.failure
    if fetched.status is not None and not 200 <= fetched.status < 300:
        where = fetched.final_url or fetched.url
        return FetchFailure(FailureKind.HTTP_ERROR, f"HTTP {fetched.status} at {where}", fetched.status, where)
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _page_language(fetched: Fetched) -> str | None:
    """The `<html lang>` of a page whose text could not be read (a wall), if it declares one."""
    try:
        return Page(fetched.body, fetched.final_url or fetched.url).html_language
    except PageError:
        return None


def sighting_of(candidate: Candidate, key: str) -> Sighting:
    return Sighting(url=candidate.url, url_key=key, guid=candidate.guid, title=candidate.title or None,
                    summary=candidate.summary or None, published=candidate.published, updated=candidate.updated)


class NewsNight:
    """The decisions and the record of one news run; the crawler calls it for every document and page."""

    def __init__(self, factory: sessionmaker[Session], config: NewsConfig, sources: Sequence[NewsSource], *,
                 now: Callable[[], datetime], limits: NightLimits = NightLimits(),
                 refetch_sources: Sequence[str] | None = None, say: Callable[[str], None] | None = None,
                 mentions: MentionsPlan | None = None):
        self.factory = factory
        self.config = config
        self.sources = {s.id: s for s in sources}
        self.now = now
        self.limits = limits
        self.refetch_sources = list(refetch_sources) if refetch_sources is not None else None
        self.say = say
        self.budget = NightBudget(limits.max_candidates)
        self.run_id: int | None = None
        self._planned: set[str] = set()
        self._index: SyndicationIndex | None = None
        self.mentions = mentions
        self.rescanned: RescanReport | None = None

    # ------------------------------------------------------------- the run

    @property
    def _run(self) -> int:
        if self.run_id is None:
            raise RuntimeError("the news night was not opened")
        return self.run_id

    def open(self) -> int:
        self.run_id = begin_run(self.factory, RunKind.NEWS, self.now(), say=self.say)
        with transaction(self.factory) as session:
            for source in self.sources.values():
                upsert_news_source(session, NewsSourceFields(
                    id=source.id, kind=source.kind, language=source.language, outlet=source.outlet,
                    outlet_type=source.type, url=source.url, query=source.query))
        self._rescan_mentions()
        return self.run_id

    def _rescan_mentions(self) -> None:
        if self.mentions is None:
            return
        try:
            self.rescanned = rescan(self.factory, self.mentions, self.now())
        except DeclarationError as exc:
            self._no_mentions(exc)
            return
        report = self.rescanned
        if report.unfinished and self.say is not None:
            self.say(f"mentions: stored articles read again for {len(report.unfinished)} claims, cut short after "
                     f"{self.mentions.rescan_seconds:g} s; the next night carries on")

    def _no_mentions(self, exc: DeclarationError) -> None:
        if self.say is not None:
            self.say(f"mentions: not looked for tonight: {exc}")
        self.mentions = None

    def close(self) -> Run:
        with transaction(self.factory) as session:
            return finish_news_run(session, self._run, self.now())

    # ------------------------------------------------------------- documents

    def plan(self, source_id: str, fetched: Fetched, *, follow_sitemaps: bool = True) -> DocumentPlan:
        """What a fetched feed, sitemap or GDELT answer gives: the items to fetch tonight, the known articles
        it names again, the child sitemaps to read."""
        source = self.sources[source_id]
        base = FeedReading(source.id, fetched.url, fetched.final_url, fetched.status)
        failure = _http_failure(fetched)
        if failure is not None:
            return DocumentPlan(replace(base, failure_kind=failure.kind, detail=failure.detail))
        sha = hashlib.sha256(fetched.body).hexdigest()
        try:
            discovery = discover(source, fetched.body, url=fetched.final_url or fetched.url)
        except DiscoveryError as exc:
            return DocumentPlan(replace(base, failure_kind=FailureKind.NOT_A_FEED, sha256=sha,
                                        detail=f"{fetched.final_url or fetched.url}: {exc.message}"))
        notes = list(discovery.notes)
        keyed: list[tuple[Candidate, str]] = []
        for candidate in discovery.candidates:
            try:
                key = candidate_key(candidate.url)
            except UrlError:
                notes.append(f"{candidate.url[:200]!r} is not a usable article URL: skipped")
                continue
            if len(key) > MAX_URL_CHARS:
                notes.append(f"a URL of {len(key)} characters skipped")
                continue
            keyed.append((candidate, key))
        with transaction(self.factory) as session:
            known = news_queries.known_urls(session, (key for _, key in keyed))
        seen_again: list[tuple[Sighting, str]] = []
        fresh: list[tuple[Candidate, str]] = []
        no_vendor = 0
        for candidate, key in keyed:
            record = known.get(key)
            if record is not None and record.article_id is not None:
                seen_again.append((sighting_of(candidate, key), record.article_id))
                continue
            if record is not None and (record.decision in (DiscoveryDecision.OFF_TOPIC, DiscoveryDecision.ABANDONED)
                                       or record.attempts >= self.limits.max_attempts):
                continue
            if key in self._planned or any(key == k for _, k in fresh):
                continue
            if not screen(candidate, self.config).names_vendor:
                no_vendor += 1
                continue
            fresh.append((candidate, key))
        if no_vendor:
            notes.append(f"{no_vendor} items name no tracked vendor in their title or summary: not fetched")
        budget_notes = len(self.budget.notes)
        admitted = {c.url for c in self.budget.admit(replace(discovery, candidates=tuple(c for c, _ in fresh)))}
        notes += self.budget.notes[budget_notes:]
        targets = tuple(ArticleTarget(c.url, key, source.id, FetchReason.DISCOVERED, c, sighting_of(c, key))
                        for c, key in fresh if c.url in admitted)
        self._planned.update(t.key for t in targets)
        reading = replace(base, sha256=sha, items_seen=discovery.items_seen, candidates=len(discovery.candidates),
                          notes=tuple(notes))
        return DocumentPlan(reading, tuple(seen_again), targets, discovery.sitemaps if follow_sitemaps else ())

    def record_document(self, plan: DocumentPlan) -> None:
        at = self.now()
        with transaction(self.factory) as session:
            fetch = record_feed_fetch(session, run_id=self._run, at=at, reading=plan.reading)
            for sighting, article_id in plan.seen_again:
                record_discovery(session, news_source_id=plan.reading.news_source_id, at=at, sighting=sighting,
                                 decision=DiscoveryDecision.ARTICLE, fetch_id=fetch.id, article_id=article_id)

    def refetch_targets(self) -> list[ArticleTarget]:
        """Known articles due for their next check, the most overdue first, at most `max_refetches`."""
        now = self.now()
        with transaction(self.factory) as session:
            due = news_queries.due_articles(session, now + DUE_MARGIN, self.limits.max_refetches * 4)
            chosen = [a for a in due if self.refetch_sources is None or a.news_source_id in self.refetch_sources]
            targets = [ArticleTarget(
                a.canonical_url, a.canonical_url, a.news_source_id, FetchReason.REFETCH,
                Candidate(url=a.canonical_url, title=a.title or "", summary="", guid=None, published=a.published_at,
                          source_id=a.news_source_id, language=a.language),
                article_id=a.id) for a in chosen[:self.limits.max_refetches]]
        self._planned.update(t.key for t in targets)
        return targets

    # ------------------------------------------------------------- article pages

    def record_page(self, target: ArticleTarget, fetched: Fetched) -> PageResult:
        """Judge a fetched article page and record what it is, in one transaction."""
        at = self.now()
        failure = _http_failure(fetched)
        charset = None
        if failure is None:
            media, charset = content_type_charset(fetched.content_type)
            if media and media not in HTML_TYPES:
                failure = FetchFailure(FailureKind.NOT_HTML, f"{fetched.final_url or fetched.url}: {media}, not HTML",
                                       fetched.status, fetched.final_url)
        with transaction(self.factory) as session:
            if failure is not None:
                return self._failure(session, target, fetched, at, failure.kind, failure.detail)
            outcome = process_page(target.candidate, fetched.body, fetched.final_url or fetched.url, self.config,
                                   headers=fetched.headers, encoding=charset, tdmrep_rules=fetched.tdmrep_rules)
            article_id = target.article_id or (outcome.identity.article_id if outcome.identity else None)
            known = article_id is not None and session.get(ArticleRow, article_id) is not None
            if outcome.kind is OutcomeKind.KEPT or (outcome.kind is OutcomeKind.OFF_TOPIC and known):
                assert article_id is not None
                return self._edition(session, target, fetched, at, outcome, article_id, known)
            if outcome.kind is OutcomeKind.OFF_TOPIC:
                return self._off_topic(session, target, fetched, at, outcome.detail)
            if outcome.kind in _WALLS and article_id is not None:
                return self._walled(session, target, fetched, at, outcome, article_id, known)
            kind = _UNREADABLE.get(outcome.kind, FailureKind(outcome.kind))
            return self._failure(session, target, fetched, at, kind, outcome.detail,
                                 article_id if known else None)

    def _source_fields(self, session: Session, target: ArticleTarget) -> tuple[str, str]:
        source = self.sources.get(target.news_source_id)
        if source is not None:
            return source.outlet, source.type
        row = session.get_one(ArticleRow, target.article_id) if target.article_id else None
        return (row.outlet, row.outlet_type) if row is not None else (target.news_source_id, "press")

    def _discovery_id(self, session: Session, target: ArticleTarget, at: datetime, decision: str, *,
                      article_id: str | None = None, detail: str | None = None, failed: bool = False) -> int | None:
        if target.sighting is None:
            return None
        feed = latest_feed_fetch(session, self._run, target.news_source_id)
        row = record_discovery(session, news_source_id=target.news_source_id, at=at, sighting=target.sighting,
                               decision=decision, fetch_id=feed.id if feed else None, article_id=article_id,
                               detail=detail, failed=failed)
        if failed and row.attempts >= self.limits.max_attempts:
            row.decision = DiscoveryDecision.ABANDONED
        return row.id

    def _reschedule(self, session: Session, target: ArticleTarget, article: ArticleRow, at: datetime,
                    created: bool) -> None:
        if created:
            schedule(session, article.id, checked_at=at, next_check=next_check(article.first_seen, at), checks_done=0)
        elif target.reason is FetchReason.REFETCH:
            schedule(session, article.id, checked_at=at, next_check=next_check(article.first_seen, at),
                     checks_done=article.checks_done + 1)
        else:
            schedule(session, article.id, checked_at=at, next_check=article.next_check,
                     checks_done=article.checks_done)

    def _edition(self, session: Session, target: ArticleTarget, fetched: Fetched, at: datetime,
                 outcome: PageOutcome, article_id: str, known: bool) -> PageResult:
        identity, article = outcome.identity, outcome.article
        assert identity is not None and article is not None and outcome.tdm is not None
        reserved = outcome.tdm.reserved
        outlet, outlet_type = self._source_fields(session, target)
        published = article.published or _iso(target.candidate.published)
        relevance = outcome.relevance
        row = upsert_article(session, ArticleFields(
            id=article_id, canonical_url=identity.canonical, news_source_id=target.news_source_id, outlet=outlet,
            outlet_type=outlet_type, language=article.language, title=article.title or target.candidate.title or None,
            author=article.author, published=published,
            published_at=declared_time(article.published) or target.candidate.published, modified=article.modified,
            tdm_reserved=reserved, canonical_elsewhere=identity.canonical_elsewhere,
            vendors=relevance.vendors if relevance and relevance.relevant else (),
            topics=relevance.topics if relevance and relevance.relevant else ()), at=at, status=ArticleStatus.READABLE)
        add_aliases(session, article_id, [u for u in (*identity.aliases, identity.canonical)
                                          if u != row.canonical_url and len(u) <= MAX_URL_CHARS], at)
        discovery_id = self._discovery_id(session, target, at, DiscoveryDecision.ARTICLE, article_id=article_id)
        facts = edition_facts(article, tdm_reserved=reserved, previous=current_article_version(session, article_id))
        fetch = record_article_fetch(session, run_id=self._run, at=at, fetch=PageFetch(
            url=target.url, reason=target.reason, final_url=fetched.final_url, http_status=fetched.status,
            raw=None if reserved else fetched.body, detail=outcome.detail), article_id=article_id,
            discovery_id=discovery_id, edition=facts)
        self._reschedule(session, target, row, at, created=not known)
        if fetch.outcome == ArticleOutcome.FIRST and facts.minhash is not None:
            self._cluster(session, article_id, facts.minhash, at)
        if fetch.outcome in (ArticleOutcome.FIRST, ArticleOutcome.CHANGED) and fetch.version_id is not None:
            self._find_mentions(session, article_id, fetch.version_id, article.text, article.language, at)
        return PageResult(target, fetch.outcome, article_id, detail=outcome.detail)

    def _find_mentions(self, session: Session, article_id: str, version_id: int, text: str,
                       language: str | None, at: datetime) -> None:
        if self.mentions is None:
            return
        try:
            claims = self.mentions.with_mentions()
        except DeclarationError as exc:
            self._no_mentions(exc)
            return
        _, timed_out = scan_version(session, claims, article_id=article_id, version_id=version_id, text=text,
                                    language=language, at=at, run_id=self.run_id,
                                    time_limit=self.mentions.time_limit)
        if timed_out and self.say is not None:
            self.say(f"mentions: {', '.join(timed_out)}: ran over {self.mentions.time_limit:g} s on article "
                     f"{article_id[:12]}; not looked for there")

    def _cluster(self, session: Session, article_id: str, minhash: bytes, at: datetime) -> None:
        index = self._syndication_index(session, at)
        signature = signature_from_bytes(minhash, SCHEME)
        matches = index.matches(signature, exclude=article_id)
        if matches:
            join_cluster(session, article_id, matches[0].key, matches[0].similarity, at)
        index.add(article_id, signature)

    def _syndication_index(self, session: Session, at: datetime) -> SyndicationIndex:
        if self._index is None:
            self._index = SyndicationIndex()
            for key, data, scheme in news_queries.signatures_since(session, at - self.limits.syndication_window):
                if scheme == SCHEME:
                    self._index.add(key, signature_from_bytes(data, scheme))
        return self._index

    def _off_topic(self, session: Session, target: ArticleTarget, fetched: Fetched, at: datetime,
                   detail: str) -> PageResult:
        discovery_id = self._discovery_id(session, target, at, DiscoveryDecision.OFF_TOPIC, detail=detail)
        record_article_fetch(session, run_id=self._run, at=at, off_topic=True, discovery_id=discovery_id,
                             fetch=PageFetch(url=target.url, reason=target.reason, final_url=fetched.final_url,
                                             http_status=fetched.status, detail=detail))
        return PageResult(target, ArticleOutcome.OFF_TOPIC, detail=detail)

    def _walled(self, session: Session, target: ArticleTarget, fetched: Fetched, at: datetime,
                outcome: PageOutcome, article_id: str, known: bool) -> PageResult:
        identity = outcome.identity
        assert identity is not None and outcome.wall is not None
        reserved = bool(outcome.tdm and outcome.tdm.reserved)
        outlet, outlet_type = self._source_fields(session, target)
        candidate = target.candidate
        screened = screen(candidate, self.config)
        row = upsert_article(session, ArticleFields(
            id=article_id, canonical_url=identity.canonical, news_source_id=target.news_source_id, outlet=outlet,
            outlet_type=outlet_type, language=_page_language(fetched) or candidate.language,
            title=candidate.title or None,
            published=_iso(candidate.published), published_at=candidate.published, tdm_reserved=reserved,
            canonical_elsewhere=identity.canonical_elsewhere, vendors=screened.vendors, topics=screened.topics),
            at=at, status=_WALLS[outcome.kind])
        add_aliases(session, article_id, [u for u in (*identity.aliases, identity.canonical)
                                          if u != row.canonical_url and len(u) <= MAX_URL_CHARS], at)
        discovery_id = self._discovery_id(session, target, at, DiscoveryDecision.ARTICLE, article_id=article_id)
        record_article_fetch(session, run_id=self._run, at=at, article_id=article_id,
                             discovery_id=discovery_id, fetch=PageFetch(
                                 url=target.url, reason=target.reason, final_url=fetched.final_url,
                                 http_status=fetched.status, raw=None if reserved else fetched.body,
                                 failure_kind=outcome.wall.kind, detail=outcome.wall.detail))
        self._reschedule(session, target, row, at, created=not known)
        return PageResult(target, ArticleOutcome.FAILED, article_id, outcome.wall.kind, outcome.wall.detail)

    def _failure(self, session: Session, target: ArticleTarget, fetched: Fetched, at: datetime, kind: str,
                 detail: str, article_id: str | None = None) -> PageResult:
        article_id = article_id or target.article_id
        discovery_id = None
        if article_id is None:
            discovery_id = self._discovery_id(session, target, at, DiscoveryDecision.FAILED, detail=detail,
                                              failed=True)
        else:
            row = session.get_one(ArticleRow, article_id)
            row.status = ArticleStatus.UNAVAILABLE
            self._reschedule(session, target, row, at, created=False)
        record_article_fetch(session, run_id=self._run, at=at, article_id=article_id,
                             discovery_id=discovery_id, fetch=PageFetch(
                                 url=target.url, reason=target.reason, final_url=fetched.final_url,
                                 http_status=fetched.status, failure_kind=kind, detail=detail))
        return PageResult(target, ArticleOutcome.FAILED, article_id, kind, detail)
