"""The trainers' review inbox: masked messages the bot was unsure of, and their sightings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_key", sa.String(64), nullable=False),
        sa.Column("suggested_intent", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("nlu_file", sa.String(255), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("text_key", name=op.f("uq_review_items_text_key")),
        sa.CheckConstraint(
            "status IN ('open', 'added', 'discarded')", name=op.f("ck_review_items_status")
        ),
    )
    op.create_index(
        op.f("ix_review_items_status_last_seen_at"), "review_items", ["status", "last_seen_at"]
    )
    op.create_table(
        "review_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sightings")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_sightings_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("message_key", name=op.f("uq_review_sightings_message_key")),
    )
    op.create_index(op.f("ix_review_sightings_item_id"), "review_sightings", ["item_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_sightings_item_id"), table_name="review_sightings")
    op.drop_table("review_sightings")
    op.drop_index(op.f("ix_review_items_status_last_seen_at"), table_name="review_items")
    op.drop_table("review_items")
