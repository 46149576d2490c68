"""Only messages waiting for a push channel have no delivery time; an index finds them.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The widget reads its messages itself: they count as delivered once stored.
    op.execute(
        sa.text(
            "UPDATE messages SET delivered_at = created_at WHERE delivered_at IS NULL "
            "AND conversation_id IN (SELECT id FROM conversations WHERE channel = 'web')"
        )
    )
    op.create_index("ix_messages_delivered_at", "messages", ["delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_delivered_at", "messages")
