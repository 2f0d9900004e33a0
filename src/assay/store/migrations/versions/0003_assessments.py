"""Assessments as recorded units: status, steps done and their outputs, so an interrupted one shows.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("system_slug", sa.String(64), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("out_dir", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("resumed", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("index_evidence_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_assessments_system_slug", "assessments", ["system_slug"])
    op.create_index("ix_assessments_status", "assessments", ["status"])


def downgrade() -> None:
    op.drop_table("assessments")
