"""The analytics' summary (channels/analytics_summary.py): per conversation and day, what the
console's analytics page needs, so that a period's figures read narrow rows instead of every
message and tracker event.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CLUSTERED = {"sqlite_with_rowid": False}


def upgrade() -> None:
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("messages_next", sa.Date(), nullable=True),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("did_you_mean", sa.Integer(), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("solved_next", sa.Date(), nullable=True),
        **CLUSTERED,
    )
    op.create_table(
        "analytics_values",
        sa.Column("kind", sa.String(length=20), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), primary_key=True),
        sa.Column("value", sa.Text(), primary_key=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("next", sa.Date(), nullable=True),
        sa.Column("kind_next", sa.Date(), nullable=True),
        sa.Column("last", sa.Integer(), nullable=False),
        **CLUSTERED,
    )
    op.create_table(
        "analytics_handoffs",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), primary_key=True),
        sa.Column("at", sa.Float(), primary_key=True),
        sa.Column("events", sa.Integer(), nullable=False),
        **CLUSTERED,
    )
    for table in ("analytics_days", "analytics_values", "analytics_handoffs"):
        op.create_index(f"ix_{table}_conversation_id", table, ["conversation_id"])
    sources = op.create_table(
        "analytics_sources",
        sa.Column("name", sa.String(length=20), primary_key=True),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("holes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.bulk_insert(
        sources, [{"name": name, "last_id": 0, "holes": [], "version": 0} for name in ("messages", "events")]
    )


def downgrade() -> None:
    for table in ("analytics_sources", "analytics_handoffs", "analytics_values", "analytics_days"):
        op.drop_table(table)
