"""Notifications: the targets notified and one delivery record per target and event.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_targets",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_notify_targets"),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_key", sa.String(64), nullable=False),
        sa.Column("event_key", sa.String(300), nullable=False),
        sa.Column("event_kind", sa.String(20), nullable=False),
        sa.Column("event_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["target_key"], ["notify_targets.key"],
                                name="fk_notify_deliveries_target_key_notify_targets"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_deliveries"),
        sa.UniqueConstraint("target_key", "event_key", name="uq_notify_deliveries_target_event"),
    )


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notify_targets")
