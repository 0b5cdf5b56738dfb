"""FAQ: the sentence embedding of every question, computed once and read by every replica
(``faq_meanings``), so that starting an action server or rebuilding its index after
``urp faq import`` reads vectors instead of computing them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_meanings",
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("text_hash", sa.String(32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model", "text_hash", name=op.f("pk_faq_meanings")),
    )


def downgrade() -> None:
    op.drop_table("faq_meanings")
