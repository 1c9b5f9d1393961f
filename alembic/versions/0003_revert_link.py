"""Link a revert to the earlier version whose text it returns to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("reverts_to_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_changes_reverts_to_version_id_versions", "versions",
                                 ["reverts_to_version_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_constraint("fk_changes_reverts_to_version_id_versions", type_="foreignkey")
        batch.drop_column("reverts_to_version_id")
