"""An index for the console's analytics: messages by author and time (a period's messages from
people, staff replies after a handoff) without a scan of the table.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_author_created_at", "messages", ["author", "created_at", "conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_author_created_at", table_name="messages")
