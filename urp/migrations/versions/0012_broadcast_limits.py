"""Broadcasts under Meta's rules: paused jobs, rows that wait, templates counted per 24 h.

- ``broadcasts``: a job may be ``paused`` (Meta refused the account: spam rate limit,
  policy, token), with the code and Meta's words, for the operators.
- ``broadcast_recipients``: ``not_before`` and ``wait_reason`` (a row waiting for Meta's
  messaging limit or its pair rate limit), ``template_at`` (when a business-initiated
  template was started for the row: the messaging limit counts these per rolling 24 h),
  ``deferrals`` (how often the pair rate limit delayed it: the backoff grows with it), and
  an index by subscriber and error code (a recipient Meta repeatedly could not reach, or
  capped for marketing, is found across broadcasts).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-15
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from urp.core.models import NAMING_CONVENTION

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

STATUSES_BEFORE = "status IN ('running', 'cancelled', 'completed')"
STATUSES_AFTER = "status IN ('running', 'cancelled', 'completed', 'paused')"
SAVED_RECIPIENTS = "urp_0012_recipients"


def _broadcasts(statuses: str) -> sa.Table:
    """The table as it stands, for SQLite's rebuild: SQLite does not reflect the names of
    check constraints, so batch mode must be told the table to copy."""
    return sa.Table(
        "broadcasts",
        sa.MetaData(naming_convention=NAMING_CONVENTION),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("memo_id", sa.Integer(), sa.ForeignKey("memos.id", ondelete="SET NULL")),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("template_messages", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        *_paused_columns(statuses),
        sa.CheckConstraint("kind IN ('memo', 'emergency')", name="kind"),
        sa.CheckConstraint(statuses, name="status"),
        sa.Index(None, "status", "priority"),
    )


def _paused_columns(statuses: str) -> list[sa.Column]:
    if statuses == STATUSES_BEFORE:
        return []
    return [
        sa.Column("paused_code", sa.Integer(), nullable=True),
        sa.Column("paused_reason", sa.String(255), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
    ]


@contextmanager
def _rebuilt_broadcasts(statuses: str) -> Iterator[BatchOperations]:
    """Batch mode on ``broadcasts``: SQLite rebuilds the table to change its check,
    PostgreSQL alters it.

    SQLite's rebuild drops the old table, and with foreign keys on (they are, on every
    connection, and the pragma cannot change inside the migration's transaction) a DROP
    TABLE first deletes its rows: ``ON DELETE CASCADE`` would take every broadcast's
    recipients with them. So they are kept aside in a temporary table and put back.
    """
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("broadcasts", naming_convention=NAMING_CONVENTION) as batch:
            yield batch
        return
    op.execute(
        sa.text(f"CREATE TEMP TABLE {SAVED_RECIPIENTS} AS SELECT * FROM broadcast_recipients")
    )
    with op.batch_alter_table(
        "broadcasts", copy_from=_broadcasts(statuses), naming_convention=NAMING_CONVENTION
    ) as batch:
        yield batch
    # The same table, unchanged so far: the columns are in the same order.
    op.execute(sa.text("DELETE FROM broadcast_recipients"))
    op.execute(sa.text(f"INSERT INTO broadcast_recipients SELECT * FROM {SAVED_RECIPIENTS}"))
    op.execute(sa.text(f"DROP TABLE {SAVED_RECIPIENTS}"))


def upgrade() -> None:
    with _rebuilt_broadcasts(STATUSES_BEFORE) as batch:
        batch.drop_constraint(op.f("ck_broadcasts_status"), type_="check")
        batch.create_check_constraint("status", STATUSES_AFTER)
        batch.add_column(sa.Column("paused_code", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("paused_reason", sa.String(255), nullable=True))
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("broadcast_recipients") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("wait_reason", sa.String(16), nullable=True))
        batch.add_column(sa.Column("template_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("deferrals", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_index(
        op.f("ix_broadcast_recipients_subscriber_id_error_code"),
        "broadcast_recipients",
        ["subscriber_id", "error_code"],
    )
    op.create_index(
        op.f("ix_broadcast_recipients_template_at"), "broadcast_recipients", ["template_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_broadcast_recipients_template_at"), table_name="broadcast_recipients")
    op.drop_index(
        op.f("ix_broadcast_recipients_subscriber_id_error_code"),
        table_name="broadcast_recipients",
    )
    with op.batch_alter_table("broadcast_recipients") as batch:
        batch.drop_column("deferrals")
        batch.drop_column("template_at")
        batch.drop_column("wait_reason")
        batch.drop_column("not_before")
    op.execute(sa.text("UPDATE broadcasts SET status = 'cancelled' WHERE status = 'paused'"))
    with _rebuilt_broadcasts(STATUSES_AFTER) as batch:
        batch.drop_column("paused_at")
        batch.drop_column("paused_reason")
        batch.drop_column("paused_code")
        batch.drop_constraint(op.f("ck_broadcasts_status"), type_="check")
        batch.create_check_constraint("status", STATUSES_BEFORE)
