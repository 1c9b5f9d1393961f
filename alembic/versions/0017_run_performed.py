"""When each run was performed by the clock, apart from the record's times it carries.

An import's started_at and finished_at are the dates of its first and last
file, years before it ran; performed_at and performed_until keep when it ran.
Every other kind of run records at its own clock, so its existing rows are
filled from started_at and finished_at (an aborted run's end was only noticed
later, and stays unknown); an import recorded before this revision keeps
NULL: when it ran was never stored.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


# In place (ALTER TABLE … ADD/DROP COLUMN, SQLite 3.35 or later), never by copying the table: most of the
# record refers to runs, and SQLite, enforcing foreign keys, refuses to drop the table it would copy.
IN_PLACE = {"recreate": "never"}


def upgrade() -> None:
    with op.batch_alter_table("runs", **IN_PLACE) as batch:
        batch.add_column(sa.Column("performed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("performed_until", sa.DateTime(), nullable=True))
    op.execute("UPDATE runs SET performed_at = started_at WHERE kind <> 'import'")
    op.execute("UPDATE runs SET performed_until = finished_at WHERE kind <> 'import' "
               "AND status NOT IN ('aborted', 'running')")


def downgrade() -> None:
    with op.batch_alter_table("runs", **IN_PLACE) as batch:
        batch.drop_column("performed_until")
        batch.drop_column("performed_at")
