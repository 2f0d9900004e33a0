"""The provenance ledger: marked outputs with their hashes and fuzzy fingerprints, and LSH bands.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("norm_sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("fingerprint_kind", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("system", sa.String(64), nullable=True),
        sa.Column("system_version", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("method", sa.String(100), nullable=False),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("evidence_id", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_ledger_entries_sha256", "ledger_entries", ["sha256"])
    op.create_index("ix_ledger_entries_norm_sha256", "ledger_entries", ["norm_sha256"])
    op.create_index("ix_ledger_entries_system", "ledger_entries", ["system"])
    op.create_table(
        "ledger_bands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("ledger_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("band", sa.Integer, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_bands_entry_id", "ledger_bands", ["entry_id"])
    op.create_index("ix_ledger_bands_lookup", "ledger_bands", ["kind", "band", "value"])


def downgrade() -> None:
    op.drop_table("ledger_bands")
    op.drop_table("ledger_entries")
