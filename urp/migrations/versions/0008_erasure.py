"""Erasure of a citizen who received broadcasts: their recipient rows lose the subscriber.

``broadcast_recipients.subscriber_id`` referenced the subscriber without ``ON DELETE``, so
erasing anyone a broadcast ever reached failed on the foreign key. Now it is ``SET NULL``:
the row stays, with its status, and the broadcast's report still counts it, anonymously.

Downgrading deletes those anonymous rows (the old column cannot hold them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from urp.core.models import NAMING_CONVENTION

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "broadcast_recipients"
FOREIGN_KEY = "fk_broadcast_recipients_subscriber_id_subscribers"


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table, PostgreSQL alters it in place.
    with op.batch_alter_table(TABLE, naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            FOREIGN_KEY, "subscribers", ["subscriber_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM {TABLE} WHERE subscriber_id IS NULL"))
    with op.batch_alter_table(TABLE, naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(FOREIGN_KEY, "subscribers", ["subscriber_id"], ["id"])
