"""Handoffs: assignment, transfers, internal notes and the audit trail (issue 26).

- ``audit_events.handoff_id``: the chat a step was about, indexed with the time, so that
  each chat's trail is one index range; the rows written before are filled in from their
  detail («conversazione 12, ...»).
- ``handoffs``: an index by operator, for the history's filter.
- ``handoff_notes``: the operators' internal notes on a chat (a transfer's message to the
  colleague is one, addressed to them).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

HANDOFF_DETAIL = re.compile(r"conversazione (\d+)")


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("handoff_id", sa.Integer(), nullable=True))
    _fill_in_audit_handoffs()
    op.create_index("ix_audit_events_handoff_id_at", "audit_events", ["handoff_id", "at"])
    op.create_index("ix_handoffs_operator_id", "handoffs", ["operator_id"])
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("addressee_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_notes_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_handoff_notes_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["addressee_id"],
            ["operators.id"],
            name=op.f("fk_handoff_notes_addressee_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_notes")),
    )
    op.create_index(op.f("ix_handoff_notes_handoff_id_at"), "handoff_notes", ["handoff_id", "at"])


def _fill_in_audit_handoffs() -> None:
    """The handoff steps audited before this revision name their chat only in the detail."""
    bind = op.get_bind()
    audit = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("action", sa.String()),
        sa.column("detail", sa.Text()),
        sa.column("handoff_id", sa.Integer()),
    )
    rows = bind.execute(
        sa.select(audit.c.id, audit.c.detail).where(audit.c.action.like("handoff\\_%", "\\"))
    ).all()
    for row_id, detail in rows:
        found = HANDOFF_DETAIL.match(detail or "")
        if found:
            bind.execute(
                audit.update().where(audit.c.id == row_id).values(handoff_id=int(found[1]))
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_handoff_notes_handoff_id_at"), table_name="handoff_notes")
    op.drop_table("handoff_notes")
    op.drop_index("ix_handoffs_operator_id", table_name="handoffs")
    op.drop_index("ix_audit_events_handoff_id_at", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("handoff_id")
