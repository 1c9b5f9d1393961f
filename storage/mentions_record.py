"""Recording mentions: the ones found in an article version, a reader's review, and the vocabulary each
claim's stored mentions were found with.

What a sentence means for a claim is decided in ``analysis.claims.mentions``;
this module only stores it. A reviewed mention is never dropped: reading an
article again with another vocabulary removes only unreviewed mentions it no
longer finds, and keeps a reader's verdict on the ones it finds again; a later
edition that repeats a reviewed sentence word for word carries its verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analysis.claims.mentions import Mention
from analysis.claims.vocabulary import MentionReview
from storage.mentions_models import MentionRow, MentionScanRow


class UnknownMention(LookupError):
    pass


def store_mentions(session: Session, *, article_id: str, version_id: int, found: Iterable[Mention],
                   claim_ids: Iterable[str], at: datetime, run_id: int | None = None) -> list[MentionRow]:
    """Make the version's mentions of ``claim_ids`` (the claims that were looked for) those ``found``; return
    the mentions that are new."""
    scanned = set(claim_ids)
    existing = {(r.claim_id, r.sentence_index): r for r in session.scalars(
        select(MentionRow).where(MentionRow.article_version_id == version_id))}
    added: list[MentionRow] = []
    kept: set[tuple[str, int]] = set()
    verdicts: dict[tuple[str, str], MentionRow] | None = None
    for mention in found:
        key = (mention.claim_id, mention.index)
        kept.add(key)
        row = existing.get(key)
        if row is None:
            if verdicts is None:
                verdicts = _verdicts(session, article_id, version_id)
            earlier = verdicts.get((mention.claim_id, mention.sentence))
            row = MentionRow(claim_id=mention.claim_id, article_id=article_id, article_version_id=version_id,
                             sentence_index=mention.index,
                             review=earlier.review if earlier else MentionReview.UNREVIEWED,
                             reviewed_at=earlier.reviewed_at if earlier else None, found_at=at, run_id=run_id)
            session.add(row)
            added.append(row)
        row.sentence, row.span_start, row.span_end = mention.sentence, mention.span[0], mention.span[1]
        row.stance, row.cue = str(mention.stance), mention.cue
    for key, row in existing.items():
        if key[0] in scanned and key not in kept and row.review == MentionReview.UNREVIEWED:
            session.delete(row)
    session.flush()
    return added


def _verdicts(session: Session, article_id: str, version_id: int) -> dict[tuple[str, str], MentionRow]:
    """The reader's latest verdict on each (claim, sentence) of the article's other versions: a later edition
    that repeats a reviewed sentence word for word carries the verdict, so a rejected mention does not come back
    with every edition of the article."""
    rows = session.scalars(select(MentionRow).where(
        MentionRow.article_id == article_id, MentionRow.article_version_id != version_id,
        MentionRow.review != MentionReview.UNREVIEWED).order_by(MentionRow.reviewed_at, MentionRow.id))
    return {(row.claim_id, row.sentence): row for row in rows}


def review_mention(session: Session, mention_id: int, review: MentionReview, at: datetime) -> MentionRow:
    row = session.get(MentionRow, mention_id)
    if row is None:
        raise UnknownMention(f"no mention {mention_id}")
    row.review, row.reviewed_at = str(review), at
    session.flush()
    return row


def scan_fingerprints(session: Session) -> dict[str, str]:
    return dict(session.execute(select(MentionScanRow.claim_id, MentionScanRow.fingerprint)).all())


def set_scan(session: Session, claim_id: str, fingerprint: str, at: datetime) -> None:
    row = session.get(MentionScanRow, claim_id)
    if row is None:
        row = MentionScanRow(claim_id=claim_id)
        session.add(row)
    row.fingerprint, row.scanned_at = fingerprint, at
    session.flush()


def drop_scans(session: Session, claim_ids: Iterable[str]) -> None:
    """Forget the vocabulary of claims no longer declared (their mentions stay on record)."""
    ids = list(claim_ids)
    if ids:
        session.execute(delete(MentionScanRow).where(MentionScanRow.claim_id.in_(ids)))
