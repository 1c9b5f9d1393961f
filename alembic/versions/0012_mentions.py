"""Mentions of claims in article versions, and the vocabulary each claim's mentions were found with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from storage.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("article_version_id", sa.Integer(), nullable=False),
        sa.Column("sentence_index", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(20), nullable=False),
        sa.Column("cue", sa.Text(), nullable=True),
        sa.Column("review", sa.String(20), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["news_articles.id"], name="fk_mentions_article_id_news_articles"),
        sa.ForeignKeyConstraint(["article_version_id"], ["news_article_versions.id"],
                                name="fk_mentions_article_version_id_news_article_versions"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_mentions_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_mentions"),
        sa.UniqueConstraint("claim_id", "article_version_id", "sentence_index",
                            name="uq_mentions_claim_id_article_version_id_sentence_index"),
    )
    for column in ("claim_id", "article_id", "article_version_id"):
        op.create_index(f"ix_mentions_{column}", "mentions", [column])
    op.create_table(
        "mention_scans",
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("scanned_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name="pk_mention_scans"),
    )


def downgrade() -> None:
    op.drop_table("mention_scans")
    for column in ("article_version_id", "article_id", "claim_id"):
        op.drop_index(f"ix_mentions_{column}", "mentions")
    op.drop_table("mentions")
