"""Broadcasts: memo and emergency messages to subscribers, one row per recipient.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("memo_id", sa.Integer(), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("template_messages", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.ForeignKeyConstraint(
            ["memo_id"], ["memos.id"], name=op.f("fk_broadcasts_memo_id_memos"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("kind IN ('memo', 'emergency')", name=op.f("ck_broadcasts_kind")),
        sa.CheckConstraint(
            "status IN ('running', 'cancelled', 'completed')", name=op.f("ck_broadcasts_status")
        ),
    )
    op.create_index(op.f("ix_broadcasts_status_priority"), "broadcasts", ["status", "priority"])
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("send_key", sa.String(64), nullable=False),
        sa.Column("via_template", sa.Boolean(), nullable=True),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_reason", sa.String(255), nullable=True),
        sa.Column("wamid", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_broadcast_recipients_subscriber_id_subscribers"),
        ),
        sa.UniqueConstraint(
            "broadcast_id",
            "subscriber_id",
            name=op.f("uq_broadcast_recipients_broadcast_id_subscriber_id"),
        ),
        sa.UniqueConstraint("send_key", name=op.f("uq_broadcast_recipients_send_key")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped')",
            name=op.f("ck_broadcast_recipients_status"),
        ),
    )
    op.create_index(
        op.f("ix_broadcast_recipients_broadcast_id_status_id"),
        "broadcast_recipients",
        ["broadcast_id", "status", "id"],
    )
    op.create_index(op.f("ix_broadcast_recipients_wamid"), "broadcast_recipients", ["wamid"])


def downgrade() -> None:
    op.drop_index(op.f("ix_broadcast_recipients_wamid"), table_name="broadcast_recipients")
    op.drop_index(
        op.f("ix_broadcast_recipients_broadcast_id_status_id"), table_name="broadcast_recipients"
    )
    op.drop_table("broadcast_recipients")
    op.drop_index(op.f("ix_broadcasts_status_priority"), table_name="broadcasts")
    op.drop_table("broadcasts")
