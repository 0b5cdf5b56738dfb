"""The console: who may publish to the subscribers, and atomic login throttling.

``operators.can_publish`` is the permission to publish memos and emergencies, granted per
account by an admin; existing accounts start without it (admins have it by their role).
``login_throttles`` counts the login attempts of each account and of each client address
in the current window, taken with a conditional UPDATE before the password is checked.

Downgrading on SQLite rebuilds ``operators``: the console's sessions end (a new login).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from urp.core.models import NAMING_CONVENTION

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "operators",
        sa.Column("can_publish", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
    with op.batch_alter_table("operators", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("can_publish")
