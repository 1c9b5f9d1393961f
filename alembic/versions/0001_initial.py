"""Initial schema: sources, runs, blobs, fetch outcomes, snapshots, versions, changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from storage.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("document_type", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("sources_checked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("new_versions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("changes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("base_sha256", sa.String(64), sa.ForeignKey("blobs.sha256", name="fk_blobs_base_sha256_blobs"), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "fetch_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", name="fk_fetch_outcomes_run_id_runs"), nullable=False),
        sa.Column("source_id", sa.String(200), sa.ForeignKey("sources.id", name="fk_fetch_outcomes_source_id_sources"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("failure_kind", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        # Points at versions, created below: the constraint is added afterwards.
        sa.Column("version_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_fetch_outcomes_run_id", "fetch_outcomes", ["run_id"])
    op.create_index("ix_fetch_outcomes_source_at", "fetch_outcomes", ["source_id", "at"])
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outcome_id", sa.Integer(), sa.ForeignKey("fetch_outcomes.id", name="fk_snapshots_outcome_id_fetch_outcomes"), nullable=False),
        sa.Column("source_id", sa.String(200), sa.ForeignKey("sources.id", name="fk_snapshots_source_id_sources"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("blob_sha256", sa.String(64), sa.ForeignKey("blobs.sha256", name="fk_snapshots_blob_sha256_blobs"), nullable=False),
    )
    op.create_index("ix_snapshots_outcome_id", "snapshots", ["outcome_id"])
    op.create_index("ix_snapshots_source_at", "snapshots", ["source_id", "fetched_at"])
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(200), sa.ForeignKey("sources.id", name="fk_versions_source_id_sources"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_confirmed", UTCDateTime(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), sa.ForeignKey("fetch_outcomes.id", name="fk_versions_outcome_id_fetch_outcomes"), nullable=False),
        sa.UniqueConstraint("source_id", "number", name="uq_versions_source_number"),
    )
    op.create_index("ix_versions_source_id", "versions", ["source_id"])
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.create_foreign_key("fk_fetch_outcomes_version_id_versions", "versions", ["version_id"], ["id"])
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(200), sa.ForeignKey("sources.id", name="fk_changes_source_id_sources"), nullable=False),
        sa.Column("from_version_id", sa.Integer(), sa.ForeignKey("versions.id", name="fk_changes_from_version_id_versions"), nullable=False),
        sa.Column("to_version_id", sa.Integer(), sa.ForeignKey("versions.id", name="fk_changes_to_version_id_versions"), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("words_added", sa.Integer(), nullable=False),
        sa.Column("words_removed", sa.Integer(), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_removed", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.UniqueConstraint("to_version_id", name="uq_changes_to_version_id"),
    )
    op.create_index("ix_changes_source_id", "changes", ["source_id"])


def downgrade() -> None:
    op.drop_table("changes")
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.drop_constraint("fk_fetch_outcomes_version_id_versions", type_="foreignkey")
    op.drop_table("versions")
    op.drop_table("snapshots")
    op.drop_table("fetch_outcomes")
    op.drop_table("blobs")
    op.drop_table("runs")
    op.drop_table("sources")
