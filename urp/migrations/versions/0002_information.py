"""Office data: memos and their items, pharmacy shifts, bathing zones, calls, reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memos")),
        sa.UniqueConstraint("published_on", name=op.f("uq_memos_published_on")),
    )
    op.create_table(
        "memo_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("memo_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memo_items")),
        sa.ForeignKeyConstraint(
            ["memo_id"],
            ["memos.id"],
            name=op.f("fk_memo_items_memo_id_memos"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("memo_id", "position", name=op.f("uq_memo_items_memo_id_position")),
    )
    op.create_table(
        "pharmacy_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("hours", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_shifts")),
        sa.UniqueConstraint("day", "name", name=op.f("uq_pharmacy_shifts_day_name")),
        sa.CheckConstraint("role IN ('turno', 'appoggio')", name=op.f("ck_pharmacy_shifts_role")),
    )
    op.create_table(
        "bathing_zones",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("coast", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("ordinance", sa.Text(), nullable=True),
        sa.Column("ordinance_url", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bathing_zones")),
        sa.CheckConstraint("status IN ('allowed', 'banned')", name=op.f("ck_bathing_zones_status")),
    )
    op.create_table(
        "calls",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("eligible", sa.Text(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_calls")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("photo_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("code", name=op.f("uq_reports_code")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_reports_year_number")),
        sa.CheckConstraint(
            "status IN ('new', 'in_progress', 'closed')", name=op.f("ck_reports_status")
        ),
    )
    op.create_index(op.f("ix_reports_status"), "reports", ["status"])
    op.create_table(
        "report_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_report_counters")),
    )


def downgrade() -> None:
    op.drop_table("report_counters")
    op.drop_index(op.f("ix_reports_status"), table_name="reports")
    op.drop_table("reports")
    op.drop_table("calls")
    op.drop_table("bathing_zones")
    op.drop_table("pharmacy_shifts")
    op.drop_table("memo_items")
    op.drop_table("memos")
