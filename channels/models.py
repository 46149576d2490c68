"""What the channel service keeps: conversations on their channel, and every message in and out."""

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        return value.astimezone(UTC).replace(tzinfo=None) if value else None

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value else None


# "bot" while Rasa answers; "handoff" while a person of the helpdesk does.
ConversationState = Literal["bot", "handoff"]
# "system": the channel service's own notices.
Author = Literal["user", "bot", "staff", "system"]
Channel = Literal["web", "telegram"]


def utc_now() -> datetime:
    return datetime.now(UTC)


# The largest id a row can have (INTEGER on PostgreSQL; SQLite's is larger): ids from outside beyond
# it are refused before they reach a query, which would fail on them.
MAX_ID = 2**31 - 1


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"

    # Also the sender id of the conversation in Rasa, e.g. "web-3f2a…" or "telegram-123456".
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(20))
    # The channel's own address of the person: the widget's session id, Telegram's chat id.
    external_id: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[ConversationState] = mapped_column(String(10), default="bot")
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)

    __table_args__ = (Index("ix_conversations_channel_external", "channel", "external_id", unique=True),)


class Message(Base):
    __tablename__ = "messages"

    # Ascending ids give every conversation its order; clients resume "after" the last id they saw.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[Author] = mapped_column(String(10))
    # Personal data (PESEL, e-mail, phone) is masked before a user's text is stored.
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # Outgoing messages on push channels (Telegram) are delivered by a worker that retries until this is
    # set; every other message has it from the start.
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)

    # The console's analytics read messages by author and period (migration 0004).
    __table_args__ = (Index("ix_messages_author_created_at", "author", "created_at", "conversation_id"),)


class FailureLabel(Base):
    """What a message the bot failed on should have been (the console's failures page): an intent,
    an FAQ answer (faq/<key>) or "new_topic"; who labelled it and when (the backend audits it).
    `make learn` writes the labelled examples into the training data."""

    __tablename__ = "failure_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # channels.learning.digest of the text and language: one label per group of the page.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Masked and normalised the way the failures page groups messages (channels.insights.normalise).
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    staff_username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
