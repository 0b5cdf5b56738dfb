"""Web chat: every message to a web citizen stored until the widget acknowledges it (issue 26).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("handoff_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_outbox")),
        sa.ForeignKeyConstraint(
            ["handoff_message_id"],
            ["handoff_messages.id"],
            name=op.f("fk_web_outbox_handoff_message_id_handoff_messages"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("handoff_message_id", name=op.f("uq_web_outbox_handoff_message_id")),
        # Ids are never reused, even when the last row is purged: a widget's "seen up to".
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_web_outbox_conversation_id_id"), "web_outbox", ["conversation_id", "id"]
    )
    op.create_index(op.f("ix_web_outbox_created_at"), "web_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_web_outbox_created_at"), table_name="web_outbox")
    op.drop_index(op.f("ix_web_outbox_conversation_id_id"), table_name="web_outbox")
    op.drop_table("web_outbox")
