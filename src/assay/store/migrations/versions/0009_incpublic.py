"""Public disclosure, roles and attachments of incidents: advisory ids (assigned once, never reused),
the systems an authority token supervises, and files attached to reports.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("systems", sa.JSON, nullable=False, server_default="[]"))
    op.create_table(
        "incident_advisories",
        sa.Column("advisory_id", sa.String(100), primary_key=True),
        sa.Column("incident_id", sa.String(100), nullable=False, unique=True),
        sa.Column("system_slug", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.UniqueConstraint("system_slug", "year", "number"),
    )
    op.create_index("ix_incident_advisories_system_slug", "incident_advisories", ["system_slug"])
    op.create_table(
        "incident_advisory_counters",
        sa.Column("system_slug", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "incident_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.String(100), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("incident_id", "sha256"),
    )
    op.create_index("ix_incident_attachments_incident_id", "incident_attachments", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_attachments")
    op.drop_table("incident_advisory_counters")
    op.drop_table("incident_advisories")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("systems")
