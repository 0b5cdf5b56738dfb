"""Inbound deliveries: each WhatsApp or Twilio message kept from the webhook's 200 until
Rasa has handled it, so that a crash or a restart loses none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sender_key", sa.String(64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_deliveries")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_deliveries_message_id")),
    )
    op.create_index(
        op.f("ix_inbound_deliveries_sender_key_id"), "inbound_deliveries", ["sender_key", "id"]
    )
    op.create_index(
        op.f("ix_inbound_deliveries_channel_lease_until"),
        "inbound_deliveries",
        ["channel", "lease_until"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_inbound_deliveries_channel_lease_until"), table_name="inbound_deliveries"
    )
    op.drop_index(op.f("ix_inbound_deliveries_sender_key_id"), table_name="inbound_deliveries")
    op.drop_table("inbound_deliveries")
