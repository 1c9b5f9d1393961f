"""The tamper-evident log (storage.ledger): one entry per version, chained per subject and globally.

The existing record is chained here: every source version in version-id
order, then every news article version in id order. The canonical form is
written out below rather than imported, so this migration keeps building the
same chain whatever becomes of the code.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_FIELDS = ("seq", "kind", "subject", "number", "text_sha256", "snapshots", "first_seen", "prev_subject", "prev")


def _hash(fields: dict[str, Any]) -> str:
    data = json.dumps({name: fields[name] for name in _FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return hashlib.sha256(data.encode("ascii")).hexdigest()


def _time(value: Any) -> str:
    # SQLite hands back text, PostgreSQL a naive datetime: both are UTC.
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def upgrade() -> None:
    table = op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("snapshots", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.String(20), nullable=False),
        sa.Column("prev_subject", sa.String(64), nullable=True),
        sa.Column("prev", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_entries"),
        sa.UniqueConstraint("kind", "subject", "number", name="uq_ledger_entries_kind_subject_number"),
        sa.UniqueConstraint("hash", name="uq_ledger_entries_hash"),
    )
    bind = op.get_bind()
    pages: dict[int, list[str]] = {}
    for outcome_id, sha in bind.execute(sa.text(
            "SELECT outcome_id, blob_sha256 FROM snapshots ORDER BY outcome_id, position, id")):
        pages.setdefault(outcome_id, []).append(sha)
    versions = bind.execute(sa.text(
        "SELECT 'version', source_id, number, sha256, outcome_id, first_seen FROM versions ORDER BY id")).all()
    articles = bind.execute(sa.text(
        "SELECT 'article', v.article_id, v.number, v.sha256, f.raw_sha256, v.first_seen "
        "FROM news_article_versions v JOIN news_article_fetches f ON f.id = v.fetch_id ORDER BY v.id")).all()
    heads: dict[tuple[str, str], str] = {}
    previous: str | None = None
    rows: list[dict[str, Any]] = []
    for seq, (kind, subject, number, sha, page, first_seen) in enumerate([*versions, *articles], start=1):
        snapshots = pages.get(page, []) if kind == "version" else ([page] if page else [])
        fields: dict[str, Any] = {"seq": seq, "kind": kind, "subject": subject, "number": number,
                                  "text_sha256": sha, "snapshots": snapshots, "first_seen": _time(first_seen),
                                  "prev_subject": heads.get((kind, subject)), "prev": previous}
        fields["hash"] = previous = heads[(kind, subject)] = _hash(fields)
        rows.append(fields)
        if len(rows) >= 1000:
            op.bulk_insert(table, rows)
            rows = []
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("ledger_entries")
