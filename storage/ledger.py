"""The tamper-evident log: every version, of a source or of a news article, is one entry, chained twice.

An entry names what was recorded (kind, subject, version number, the sha256
of the text and of each raw page it came from, when it was first seen) and
carries two links: `prev_subject`, the hash of the same subject's previous
entry, and `prev`, the hash of the previous entry of the whole log. Its
`hash` is the sha256 of its canonical form (storage.verify_ledger, the
standalone verifier the site ships, so the two cannot disagree):

    json.dumps({every field but "hash"}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

encoded as ASCII; `first_seen` is written `YYYY-MM-DDTHH:MM:SSZ`, absent links are null. Rewriting a
text and its sha256 together therefore breaks the text's entry, rewriting the entry breaks every later
one, and a published head (or a signed one) pins them all.

Entries are appended in the transaction that records the version, and never
updated: what may change about a version later (`last_confirmed`, the
analysis of its change) is not in them. Appending is serialised (one writer
at a time on SQLite; an advisory lock on PostgreSQL), so the log never forks.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from storage.db import core
from storage.models import LedgerEntry, Snapshot, Version
from storage.news_models import ArticleFetch, ArticleVersion
from storage.reader import Links
from storage.times import utc_text
from storage.verify_ledger import entry_hash
from storage.vocabulary import LedgerKind

# Writers of one PostgreSQL database append to the log one at a time, holding this until they commit.
_APPEND_LOCK_KEY = 0x706F6C6963790002
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")

# Built once: every new version appends an entry (see storage.record).
_HEAD_LINK = select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)
_SUBJECT_LINK = (select(LedgerEntry.number, LedgerEntry.hash)
                 .where(LedgerEntry.kind == bindparam("kind"), LedgerEntry.subject == bindparam("subject"))
                 .order_by(LedgerEntry.number.desc()).limit(1))
_INSERT = insert(LedgerEntry)
_PAGES = (select(Snapshot.blob_sha256).where(Snapshot.outcome_id == bindparam("outcome_id"))
          .order_by(Snapshot.position))


def as_json(entry: LedgerEntry) -> dict[str, Any]:
    """The entry as published (one line of `ledger.jsonl`): its fields and its hash."""
    return {"seq": entry.seq, "kind": entry.kind, "subject": entry.subject, "number": entry.number,
            "text_sha256": entry.text_sha256, "snapshots": list(entry.snapshots or []),
            "first_seen": entry.first_seen, "prev_subject": entry.prev_subject, "prev": entry.prev,
            "hash": entry.hash}


def json_line(entry: LedgerEntry) -> str:
    return json.dumps(as_json(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _serialise(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"key": _APPEND_LOCK_KEY})


def head(session: Session) -> LedgerEntry | None:
    return session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1)).first()


def append(session: Session, kind: LedgerKind, subject: str, number: int, text_sha256: str,
           snapshots: Sequence[str], first_seen: datetime) -> None:
    _serialise(session)
    connection = core(session)
    last = connection.execute(_HEAD_LINK).first()
    previous = connection.execute(_SUBJECT_LINK, {"kind": kind, "subject": subject}).first()
    if previous is not None and previous.number >= number:
        raise ValueError(f"ledger: {kind} {subject} v{number} follows v{previous.number}")
    fields: dict[str, Any] = {
        "seq": last.seq + 1 if last else 1, "kind": str(kind), "subject": subject, "number": number,
        "text_sha256": text_sha256, "snapshots": list(snapshots), "first_seen": utc_text(first_seen),
        "prev_subject": previous.hash if previous else None, "prev": last.hash if last else None}
    # Inserted without the ORM's unit of work, which would cost a new version's transaction several statements'
    # worth: an entry is never updated, so nothing needs it as an object.
    connection.execute(_INSERT, {**fields, "hash": entry_hash(fields)})


def append_version(session: Session, version: Version) -> None:
    pages = core(session).execute(_PAGES, {"outcome_id": version.outcome_id}).scalars().all()
    append(session, LedgerKind.VERSION, version.source_id, version.number, version.sha256, pages,
           version.first_seen)


def append_article_version(session: Session, version: ArticleVersion, fetch: ArticleFetch) -> None:
    pages = [fetch.raw_sha256] if fetch.raw_sha256 else []
    append(session, LedgerKind.ARTICLE, version.article_id, version.number, version.sha256, pages,
           version.first_seen)


def version_links(session: Session, source_id: str) -> dict[int, Links]:
    """The entries of a source's versions, by version number."""
    rows = session.execute(select(LedgerEntry.number, LedgerEntry.seq, LedgerEntry.hash, LedgerEntry.prev_subject,
                                  LedgerEntry.prev)
                           .where(LedgerEntry.kind == LedgerKind.VERSION, LedgerEntry.subject == source_id))
    return {number: Links(seq, hash_, prev_subject, prev) for number, seq, hash_, prev_subject, prev in rows}


def entries(session: Session) -> Iterable[LedgerEntry]:
    """The whole log in order, read in batches."""
    return session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=2000))
