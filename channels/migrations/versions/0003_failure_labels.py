"""Labels staff give the messages the bot failed on (the console's failures page).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failure_labels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("staff_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_failure_labels_digest", "failure_labels", ["digest"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_failure_labels_digest", "failure_labels")
    op.drop_table("failure_labels")
