"""Handoffs to the office: operators, handoffs and their messages, quick replies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration must not change when the models do.
OPEN_HANDOFF = "status IN ('pending', 'assigned')"


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
        sa.CheckConstraint(
            "role IN ('operator', 'trainer', 'admin')", name=op.f("ck_operators_role")
        ),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("out_of_hours", sa.Boolean(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_handoffs_operator_id_operators")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'assigned', 'resolved')", name=op.f("ck_handoffs_status")
        ),
        sa.CheckConstraint(
            "reason IN ('unclear', 'request', 'appointment', 'abuse', 'action_failed', "
            "'no_information')",
            name=op.f("ck_handoffs_reason"),
        ),
    )
    op.create_index(
        "uq_handoffs_open_conversation_id",
        "handoffs",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_HANDOFF),
        postgresql_where=sa.text(OPEN_HANDOFF),
    )
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])
    op.create_index(op.f("ix_handoffs_created_at"), "handoffs", ["created_at"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_messages")),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_messages_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_handoff_messages_operator_id_operators"),
        ),
        sa.CheckConstraint(
            "author IN ('citizen', 'bot', 'operator')", name=op.f("ck_handoff_messages_author")
        ),
    )
    op.create_index(op.f("ix_handoff_messages_handoff_id"), "handoff_messages", ["handoff_id"])
    op.create_table(
        "quick_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_replies")),
        sa.UniqueConstraint("title", name=op.f("uq_quick_replies_title")),
    )


def downgrade() -> None:
    op.drop_table("quick_replies")
    op.drop_index(op.f("ix_handoff_messages_handoff_id"), table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index(op.f("ix_handoffs_created_at"), table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_status"), table_name="handoffs")
    op.drop_index("uq_handoffs_open_conversation_id", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_table("operators")
