"""Fetch outcomes indexed by version and time: each version page counts and lists its confirmations.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_fetch_outcomes_version_at", "fetch_outcomes", ["version_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_fetch_outcomes_version_at", table_name="fetch_outcomes")
