"""Evidence chain: each record's position and previous hash, chain heads and signed checkpoints.

Existing records are chained per system in their stored order (time, then id). Their signatures were
made before the chain existed and do not cover the links, so each chain records that it starts at this
migration; `assay evidence verify` says so.

Revision ID: 0004
Revises: 0003
"""

import datetime as dt
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
GENESIS = "0" * 64


def upgrade() -> None:
    from assay.assurance.chain import chain_key, link_hash

    op.create_table(
        "evidence_chains",
        sa.Column("chain", sa.String(64), primary_key=True),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_note", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
    )
    op.create_table(
        "evidence_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
    )
    op.create_index("ix_evidence_checkpoints_chain", "evidence_checkpoints", ["chain"])
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("link_signed", sa.Boolean, nullable=False, server_default=sa.false()))

    conn = op.get_bind()
    evidence = sa.table(
        "evidence",
        sa.column("created_at", TS),
        *(
            sa.column(c)
            for c in (
                "id",
                "sha256",
                "kind",
                "system_slug",
                "name",
                "media_type",
                "size",
                "tool",
                "tool_version",
                "summary",
                "key_id",
                "signature",
                "seq",
                "prev_hash",
                "link_signed",
            )
        ),
    )
    chains = sa.table(
        "evidence_chains",
        *(sa.column(c) for c in ("chain", "length", "head_hash", "origin", "origin_note", "started_at")),
    )
    rows = conn.execute(sa.select(evidence).order_by(evidence.c.created_at, evidence.c.id)).mappings().all()
    now = dt.datetime.now(dt.UTC)
    for key, group in groupby(
        sorted(rows, key=lambda r: chain_key(r["system_slug"])), key=lambda r: chain_key(r["system_slug"])
    ):
        prev = GENESIS
        count = 0
        for seq, row in enumerate(group, start=1):  # sorted() is stable: stored order within a chain
            fields = {
                **row,
                "system": row["system_slug"],
                "seq": seq,
                "prev_hash": prev,
                "link_signed": False,
            }
            conn.execute(
                sa.update(evidence)
                .where(evidence.c.id == row["id"])
                .values(seq=seq, prev_hash=prev, link_signed=False)
            )
            prev = link_hash(fields)
            count = seq
        note = (
            f"chained by migration 0004 on {now:%Y-%m-%d %H:%M} UTC from the stored order of {count} "
            "existing records; their signatures predate the chain and do not cover its links"
        )
        conn.execute(
            sa.insert(chains).values(
                chain=key, length=count, head_hash=prev, origin="migration", origin_note=note, started_at=now
            )
        )
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column("seq", existing_type=sa.Integer, nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), server_default=None)
        batch.alter_column("link_signed", existing_type=sa.Boolean, server_default=None)
        batch.create_unique_constraint("uq_evidence_chain_seq", ["system_slug", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_constraint("uq_evidence_chain_seq", type_="unique")
        batch.drop_column("link_signed")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    op.drop_table("evidence_checkpoints")
    op.drop_table("evidence_chains")
