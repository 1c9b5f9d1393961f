"""News coverage: news sources, feed readings, discoveries, articles with aliases, fetches and versions,
syndication clusters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

URL = sa.String(2048)


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "news_sources",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("outlet_type", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_news_sources"),
    )
    op.create_table(
        "news_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_news_clusters"),
    )
    op.create_table(
        "news_articles",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("canonical_url", URL, nullable=False),
        sa.Column("news_source_id", sa.String(200), nullable=False),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("outlet_type", sa.String(20), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("published", sa.String(40), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("modified", sa.String(40), nullable=True),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_checked", UTCDateTime(), nullable=False),
        sa.Column("next_check", UTCDateTime(), nullable=True),
        sa.Column("checks_done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tdm_reserved", sa.Boolean(), nullable=False),
        sa.Column("canonical_elsewhere", URL, nullable=True),
        sa.Column("vendors", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("cluster_similarity", sa.Float(), nullable=True),
        _fk("news_articles", "cluster_id", "news_clusters"),
        _fk("news_articles", "news_source_id", "news_sources"),
        sa.PrimaryKeyConstraint("id", name="pk_news_articles"),
        sa.UniqueConstraint("canonical_url", name="uq_news_articles_canonical_url"),
    )
    for column in ("cluster_id", "first_seen", "next_check", "published_at"):
        op.create_index(f"ix_news_articles_{column}", "news_articles", [column])
    op.create_table(
        "news_feed_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("news_source_id", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("failure_kind", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        _fk("news_feed_fetches", "news_source_id", "news_sources"),
        _fk("news_feed_fetches", "run_id", "runs"),
        sa.PrimaryKeyConstraint("id", name="pk_news_feed_fetches"),
    )
    op.create_index("ix_news_feed_fetches_news_source_id", "news_feed_fetches", ["news_source_id"])
    op.create_index("ix_news_feed_fetches_run_id", "news_feed_fetches", ["run_id"])
    op.create_table(
        "news_article_aliases",
        sa.Column("url", URL, nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        _fk("news_article_aliases", "article_id", "news_articles"),
        sa.PrimaryKeyConstraint("url", name="pk_news_article_aliases"),
    )
    op.create_index("ix_news_article_aliases_article_id", "news_article_aliases", ["article_id"])
    op.create_table(
        "news_discoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("news_source_id", sa.String(200), nullable=False),
        sa.Column("url", URL, nullable=False),
        sa.Column("url_key", URL, nullable=False),
        sa.Column("guid", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("published", UTCDateTime(), nullable=True),
        sa.Column("updated", UTCDateTime(), nullable=True),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("first_fetch_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        _fk("news_discoveries", "article_id", "news_articles"),
        _fk("news_discoveries", "first_fetch_id", "news_feed_fetches"),
        _fk("news_discoveries", "news_source_id", "news_sources"),
        sa.PrimaryKeyConstraint("id", name="pk_news_discoveries"),
        sa.UniqueConstraint("news_source_id", "url_key", name="uq_news_discoveries_source_url_key"),
    )
    op.create_index("ix_news_discoveries_article_id", "news_discoveries", ["article_id"])
    op.create_index("ix_news_discoveries_url_key", "news_discoveries", ["url_key"])
    op.create_table(
        "news_article_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column("discovery_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("failure_kind", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raw_sha256", sa.String(64), nullable=True),
        # Points at news_article_versions, created below: the constraint is added afterwards.
        sa.Column("version_id", sa.Integer(), nullable=True),
        _fk("news_article_fetches", "article_id", "news_articles"),
        _fk("news_article_fetches", "discovery_id", "news_discoveries"),
        _fk("news_article_fetches", "raw_sha256", "blobs", "sha256"),
        _fk("news_article_fetches", "run_id", "runs"),
        sa.PrimaryKeyConstraint("id", name="pk_news_article_fetches"),
    )
    op.create_index("ix_news_article_fetches_article_id", "news_article_fetches", ["article_id"])
    op.create_index("ix_news_article_fetches_run_id", "news_article_fetches", ["run_id"])
    op.create_table(
        "news_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("fetch_id", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_confirmed", UTCDateTime(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("tdm_reserved", sa.Boolean(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("published", sa.String(40), nullable=True),
        sa.Column("modified", sa.String(40), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("words_added", sa.Integer(), nullable=True),
        sa.Column("words_removed", sa.Integer(), nullable=True),
        sa.Column("is_correction", sa.Boolean(), nullable=False),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=True),
        sa.Column("minhash_scheme", sa.String(20), nullable=True),
        _fk("news_article_versions", "article_id", "news_articles"),
        _fk("news_article_versions", "fetch_id", "news_article_fetches"),
        sa.PrimaryKeyConstraint("id", name="pk_news_article_versions"),
        sa.UniqueConstraint("article_id", "number", name="uq_news_article_versions_article_number"),
    )
    op.create_index("ix_news_article_versions_article_id", "news_article_versions", ["article_id"])
    with op.batch_alter_table("news_article_fetches") as batch:
        batch.create_foreign_key("fk_news_article_fetches_version_id_news_article_versions", "news_article_versions",
                                 ["version_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("news_article_fetches") as batch:
        batch.drop_constraint("fk_news_article_fetches_version_id_news_article_versions", type_="foreignkey")
    for table in ("news_article_versions", "news_article_fetches", "news_discoveries", "news_article_aliases",
                  "news_feed_fetches", "news_articles", "news_clusters", "news_sources"):
        op.drop_table(table)
