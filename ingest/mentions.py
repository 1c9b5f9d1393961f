"""Claims mentioned in press articles: found when an article version is stored, and again in the stored
articles when a claim's mention vocabulary changes.

``MentionsPlan`` compiles the claims files once, when first needed. The news
night calls ``scan_version`` for every new article version (with its text in
hand, kept or not) and ``rescan`` once when it opens: a claim that is new or
whose vocabulary changed (``analysis.claims.mentions.mention_fingerprint``
differs from the one stored) has every stored article version read again,
newest first, until ``rescan_seconds`` have passed; a claim whose reading was
cut short keeps its old fingerprint, so the next night reads it again (which
changes nothing already found). A version whose text is not kept (TDM
reservation) is read again only in the sentences it kept as mentions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from time import perf_counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analysis.claims import Claim, ClaimSet
from analysis.claims.mentions import DEFAULT_TIME_LIMIT, find_mentions, mention_fingerprint, mentioning_claims
from analysis.rules import LANGUAGES
from analysis.sentences import split_sentences
from ingest.claims_declarations import claim_files, load_claims
from ingest.news.limits import NightLimits
from storage import mentions_record
from storage.db import transaction
from storage.mentions_models import MentionRow
from storage.news_models import ArticleVersion


def mention_language(language: str | None) -> str | None:
    code = (language or "").split("-")[0].lower()
    return code if code in LANGUAGES else None


@dataclass
class MentionsPlan:
    location: Path
    time_limit: float = DEFAULT_TIME_LIMIT
    rescan_seconds: float = 120.0
    _claims: ClaimSet | None = None

    def claims(self) -> ClaimSet:
        if self._claims is None:
            empty = self.location.is_dir() and not claim_files(self.location)
            self._claims = ClaimSet(() if empty else load_claims(self.location))
        return self._claims

    @classmethod
    def for_night(cls, location: Path, limits: NightLimits = NightLimits()) -> "MentionsPlan":
        """The plan a news night looks for mentions with, bounded by the night's limits."""
        return cls(location, limits.mention_time_limit, limits.mention_rescan_seconds)

    def with_mentions(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims() if c.mentions)


@dataclass
class RescanReport:
    claims: list[str] = field(default_factory=list)  # claims whose stored coverage was read again
    unfinished: list[str] = field(default_factory=list)  # cut short by the time bound: read again next night
    versions: int = 0
    found: int = 0  # mentions new to the record


def scan_version(session: Session, claims: Sequence[Claim], *, article_id: str, version_id: int, text: str,
                 language: str | None, at: datetime, run_id: int | None = None,
                 time_limit: float = DEFAULT_TIME_LIMIT) -> tuple[list[MentionRow], tuple[str, ...]]:
    """Find and store the mentions of ``claims`` in one article version's text; the new mentions, and the
    claims that ran out of time on it."""
    lang = mention_language(language)
    if lang is None:
        return [], ()
    wanted = mentioning_claims(claims, lang)
    if not wanted:
        return [], ()
    scan = find_mentions(wanted, split_sentences(text, lang), lang, time_limit=time_limit)
    done = [c.id for c in wanted if c.id not in scan.timed_out]
    added = mentions_record.store_mentions(session, article_id=article_id, version_id=version_id,
                                           found=[m for m in scan.mentions if m.claim_id in done], claim_ids=done,
                                           at=at, run_id=run_id)
    return added, scan.timed_out


def _rescan_kept_sentences(session: Session, claims: Sequence[Claim], version: ArticleVersion, at: datetime,
                           time_limit: float) -> int:
    """A version without its text: read again the sentences it kept as mentions, at their places."""
    lang = mention_language(version.language)
    kept = {r.sentence_index: r.sentence for r in session.scalars(
        select(MentionRow).where(MentionRow.article_version_id == version.id))}
    if lang is None or not kept:
        return 0
    wanted = mentioning_claims(claims, lang)
    positions = sorted(kept)
    scan = find_mentions(wanted, [kept[i] for i in positions], lang, time_limit=time_limit)
    done = [c.id for c in wanted if c.id not in scan.timed_out]
    found = [replace(m, index=positions[m.index]) for m in scan.mentions if m.claim_id in done]
    return len(mentions_record.store_mentions(session, article_id=version.article_id, version_id=version.id,
                                              found=found, claim_ids=done, at=at))


def rescan(factory: sessionmaker[Session], plan: MentionsPlan, at: datetime) -> RescanReport:
    """Read the stored articles again for the claims whose mention vocabulary is new or changed."""
    report = RescanReport()
    claims = plan.with_mentions()
    with transaction(factory) as session:
        stored = mentions_record.scan_fingerprints(session)
        mentions_record.drop_scans(session, set(stored) - {c.id for c in claims})
    changed = [c for c in claims if stored.get(c.id) != mention_fingerprint(c)]
    if not changed:
        return report
    report.claims = [c.id for c in changed]
    started = perf_counter()
    with transaction(factory) as session:
        version_ids = list(session.scalars(select(ArticleVersion.id).order_by(ArticleVersion.first_seen.desc(),
                                                                             ArticleVersion.id.desc())))
    finished = True
    for version_id in version_ids:
        if perf_counter() - started > plan.rescan_seconds:
            finished = False
            break
        with transaction(factory) as session:
            version = session.get_one(ArticleVersion, version_id)
            if version.text is not None:
                added, _ = scan_version(session, changed, article_id=version.article_id, version_id=version.id,
                                        text=version.text, language=version.language, at=at,
                                        time_limit=plan.time_limit)
                report.found += len(added)
            else:
                report.found += _rescan_kept_sentences(session, changed, version, at, plan.time_limit)
            report.versions += 1
    with transaction(factory) as session:
        if finished:
            for claim in changed:
                mentions_record.set_scan(session, claim.id, mention_fingerprint(claim), at)
        else:
            report.unfinished = [c.id for c in changed]
    return report
