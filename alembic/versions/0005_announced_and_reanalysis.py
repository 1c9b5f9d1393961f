"""Record once whether a change is announced; keep analyses that a re-analysis replaced.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("announced_flags", sa.JSON(), nullable=False, server_default="[]"))
    # Until now a change was announced exactly when it was substantive.
    op.execute("UPDATE changes SET announced = (kind = 'substantive')")
    op.execute("UPDATE changes SET announced_flags = flags WHERE kind = 'substantive'")
    op.create_table(
        "change_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("words_added", sa.Integer(), nullable=False),
        sa.Column("words_removed", sa.Integer(), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_removed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["changes.id"], name="fk_change_analyses_change_id_changes"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_change_analyses_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_change_analyses"),
    )
    op.create_index("ix_change_analyses_change_id", "change_analyses", ["change_id"])


def downgrade() -> None:
    op.drop_index("ix_change_analyses_change_id", table_name="change_analyses")
    op.drop_table("change_analyses")
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("announced_flags")
        batch.drop_column("announced")
