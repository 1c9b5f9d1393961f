"""Keep whether a change was analysed, and why not (the flagger's `analysed` and `note`, kept as `analysis_note`
beside the record's own `note` on changes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("changes", "change_analyses"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("analysed", sa.Boolean(), nullable=False, server_default=sa.true()))
            batch.add_column(sa.Column("analysis_note", sa.Text(), nullable=False, server_default=""))
    # Changes recorded before this held their reason in the summary only.
    op.execute("UPDATE changes SET analysed = (summary NOT LIKE 'not analysed: %'), "
               "analysis_note = CASE WHEN summary LIKE 'not analysed: %' THEN summary ELSE '' END")


def downgrade() -> None:
    for table in ("change_analyses", "changes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("analysis_note")
            batch.drop_column("analysed")
