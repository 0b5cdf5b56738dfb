"""The consent log: every opt-in and opt-out as it happened (issue 25).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("topics", sa.String(512), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "scope IN ('service', 'marketing')", name=op.f("ck_consent_events_scope")
        ),
        sa.CheckConstraint(
            "action IN ('requested', 'given', 'withdrawn')",
            name=op.f("ck_consent_events_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        op.f("ix_consent_events_user_hash_scope_at"),
        "consent_events",
        ["user_hash", "scope", "at"],
    )
    op.create_index(op.f("ix_consent_events_at"), "consent_events", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_events_at"), table_name="consent_events")
    op.drop_index(op.f("ix_consent_events_user_hash_scope_at"), table_name="consent_events")
    op.drop_table("consent_events")
