"""Run and sample index for the dashboard: each evaluation and red-team run, and each line of its log,
so a run's samples can be paged through quickly.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "run_index",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("system_slug", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("suite_id", sa.String(200), nullable=False),
        sa.Column("suite_title", sa.String(300), nullable=False),
        sa.Column("target_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("grade", sa.String(32), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("indexed_at", TS, nullable=False),
    )
    op.create_index("ix_run_index_system_started", "run_index", ["system_slug", "started_at"])
    op.create_table(
        "run_samples",
        sa.Column(
            "run_id",
            sa.String(200),
            sa.ForeignKey("run_index.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("sample_id", sa.String(200), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("scorer", sa.String(100), nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("passed", sa.Boolean, nullable=True),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_samples")
    op.drop_index("ix_run_index_system_started", table_name="run_index")
    op.drop_table("run_index")
