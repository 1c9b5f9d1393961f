"""Claims: declarations, evidence intervals, states, status events, revisions, errors, evaluation progress.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    other, _, key = target.partition(".")
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{other}")


def upgrade() -> None:
    op.create_table(
        "claim_declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("declared_in", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        _pk("claim_declarations"),
    )
    op.create_index("ix_claim_declarations_claim_id", "claim_declarations", ["claim_id"])

    op.create_table(
        "claim_states",
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("cause", sa.String(30), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name="pk_claim_states"),
    )

    op.create_table(
        "claim_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("matcher_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("reading", sa.JSON(), nullable=False),
        sa.Column("expect_failures", sa.JSON(), nullable=False),
        sa.Column("first_version", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_confirmed", sa.DateTime(), nullable=False),
        sa.Column("end_reason", sa.String(30), nullable=True),
        sa.Column("end_at", sa.DateTime(), nullable=True),
        sa.Column("end_version", sa.Integer(), nullable=True),
        sa.Column("successor", sa.Text(), nullable=True),
        _fk("claim_evidence", "source_id", "sources.id"),
        _pk("claim_evidence"),
        sa.UniqueConstraint("claim_id", "matcher_id", "source_id", "key_sha256", "first_version",
                            name="uq_claim_evidence_identity"),
    )
    op.create_index("ix_claim_evidence_claim_id", "claim_evidence", ["claim_id"])
    op.create_index("ix_claim_evidence_source_open", "claim_evidence", ["source_id", "end_reason"])

    op.create_table(
        "claim_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint_before", sa.String(64), nullable=True),
        sa.Column("fingerprint_after", sa.String(64), nullable=False),
        sa.Column("status_before", sa.String(30), nullable=True),
        sa.Column("status_after", sa.String(30), nullable=True),
        sa.Column("events_added", sa.Integer(), nullable=False),
        sa.Column("events_withdrawn", sa.Integer(), nullable=False),
        _fk("claim_revisions", "run_id", "runs.id"),
        _pk("claim_revisions"),
    )
    op.create_index("ix_claim_revisions_claim_id", "claim_revisions", ["claim_id"])

    op.create_table(
        "claim_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("previous", sa.String(30), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("cause", sa.String(30), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("change_kind", sa.String(20), nullable=True),
        sa.Column("announce", sa.Boolean(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("added", sa.JSON(), nullable=False),
        sa.Column("reevaluated_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        _fk("claim_events", "source_id", "sources.id"),
        _fk("claim_events", "change_id", "changes.id"),
        _fk("claim_events", "run_id", "runs.id"),
        _fk("claim_events", "revision_id", "claim_revisions.id"),
        _fk("claim_events", "withdrawn_by", "claim_revisions.id"),
        _pk("claim_events"),
    )
    op.create_index("ix_claim_events_claim_id", "claim_events", ["claim_id"])

    op.create_table(
        "claim_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("matcher_id", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _fk("claim_errors", "run_id", "runs.id"),
        _pk("claim_errors"),
    )
    op.create_index("ix_claim_errors_claim_id", "claim_errors", ["claim_id"])

    op.create_table(
        "claim_sources",
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("tracking_fingerprint", sa.String(64), nullable=True),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("claim_sources", "source_id", "sources.id"),
        sa.PrimaryKeyConstraint("source_id", name="pk_claim_sources"),
    )

    op.create_table(
        "tracking_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("fingerprint_before", sa.String(64), nullable=True),
        sa.Column("fingerprint_after", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        _fk("tracking_changes", "source_id", "sources.id"),
        _pk("tracking_changes"),
    )
    op.create_index("ix_tracking_changes_source_id", "tracking_changes", ["source_id"])

    op.create_table(
        "claim_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.Column("claims_read", sa.JSON(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        _fk("claim_evaluations", "run_id", "runs.id"),
        _pk("claim_evaluations"),
    )

    op.create_table(
        "claim_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claims_digest", sa.String(64), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(), nullable=True),
        _pk("claim_meta"),
    )
    op.execute("INSERT INTO claim_meta (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table("claim_meta")
    op.drop_table("claim_evaluations")
    op.drop_index("ix_tracking_changes_source_id", table_name="tracking_changes")
    op.drop_table("tracking_changes")
    op.drop_table("claim_sources")
    op.drop_index("ix_claim_errors_claim_id", table_name="claim_errors")
    op.drop_table("claim_errors")
    op.drop_index("ix_claim_events_claim_id", table_name="claim_events")
    op.drop_table("claim_events")
    op.drop_index("ix_claim_revisions_claim_id", table_name="claim_revisions")
    op.drop_table("claim_revisions")
    op.drop_index("ix_claim_evidence_source_open", table_name="claim_evidence")
    op.drop_index("ix_claim_evidence_claim_id", table_name="claim_evidence")
    op.drop_table("claim_evidence")
    op.drop_table("claim_states")
    op.drop_index("ix_claim_declarations_claim_id", table_name="claim_declarations")
    op.drop_table("claim_declarations")
