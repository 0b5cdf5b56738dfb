"""WhatsApp Cloud API: deliveries already seen, the 24-hour window, outbound statuses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_inbound",
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_whatsapp_inbound")),
    )
    op.create_index(op.f("ix_whatsapp_inbound_received_at"), "whatsapp_inbound", ["received_at"])
    op.create_table(
        "whatsapp_contacts",
        sa.Column("user_hash", sa.String(64), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_hash", name=op.f("pk_whatsapp_contacts")),
    )
    op.create_table(
        "whatsapp_outbound",
        sa.Column("wamid", sa.String(128), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.String(255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("wamid", name=op.f("pk_whatsapp_outbound")),
        sa.CheckConstraint(
            "status IN ('accepted', 'sent', 'delivered', 'read', 'failed')",
            name=op.f("ck_whatsapp_outbound_status"),
        ),
    )
    op.create_index(op.f("ix_whatsapp_outbound_user_hash"), "whatsapp_outbound", ["user_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_whatsapp_outbound_user_hash"), table_name="whatsapp_outbound")
    op.drop_table("whatsapp_outbound")
    op.drop_table("whatsapp_contacts")
    op.drop_index(op.f("ix_whatsapp_inbound_received_at"), table_name="whatsapp_inbound")
    op.drop_table("whatsapp_inbound")
