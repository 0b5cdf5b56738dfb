"""Handoffs: the citizen's rating after a human chat (issue 26); and
``operators.must_change_password``, set while an account still has the password an admin
chose (existing accounts start without it).

Downgrading on SQLite rebuilds ``operators``: the console's sessions end (a new login).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from urp.core.models import NAMING_CONVENTION

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending_conversation", sa.String(128), nullable=True),
        sa.Column("awaiting", sa.String(16), nullable=True),
        sa.Column("pending_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("commented_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_handoff_ratings_stars")),
        sa.CheckConstraint(
            "awaiting IN ('stars', 'offer', 'comment')", name=op.f("ck_handoff_ratings_awaiting")
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_ratings_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_ratings")),
        sa.UniqueConstraint("handoff_id", name=op.f("uq_handoff_ratings_handoff_id")),
    )
    op.create_index(
        op.f("ix_handoff_ratings_pending_conversation"),
        "handoff_ratings",
        ["pending_conversation"],
    )
    op.create_index(op.f("ix_handoff_ratings_asked_at"), "handoff_ratings", ["asked_at"])
    op.add_column(
        "operators",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("operators", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("must_change_password")
    op.drop_index(op.f("ix_handoff_ratings_asked_at"), table_name="handoff_ratings")
    op.drop_index(op.f("ix_handoff_ratings_pending_conversation"), table_name="handoff_ratings")
    op.drop_table("handoff_ratings")
