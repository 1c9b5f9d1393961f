"""Remember the sha256 of text the fetch guard refused as too short, and the host of each run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.add_column(sa.Column("text_sha256", sa.String(64), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("host")
    with op.batch_alter_table("fetch_outcomes") as batch:
        batch.drop_column("text_sha256")
