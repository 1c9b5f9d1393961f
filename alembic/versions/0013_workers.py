"""Distributed nights: the workers, each domain's job, and who recorded which outcome.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=False),
        sa.Column("stalled_after", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )
    op.create_table(
        "night_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("source_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_night_jobs_run_id_runs"),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name="fk_night_jobs_worker_id_workers"),
        sa.PrimaryKeyConstraint("id", name="pk_night_jobs"),
        sa.UniqueConstraint("run_id", "domain", "region", name="uq_night_jobs_run_domain_region"),
    )
    op.create_index("ix_night_jobs_run_id", "night_jobs", ["run_id"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_runs_worker_id_workers", "workers", ["worker_id"], ["id"])
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_fetch_outcomes_worker_id_workers", "workers", ["worker_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.drop_constraint("fk_fetch_outcomes_worker_id_workers", type_="foreignkey")
        batch.drop_column("worker_id")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("fk_runs_worker_id_workers", type_="foreignkey")
        batch.drop_column("worker_id")
    op.drop_index("ix_night_jobs_run_id", table_name="night_jobs")
    op.drop_table("night_jobs")
    op.drop_table("workers")
