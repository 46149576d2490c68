"""What the channel service keeps: conversations on their channel, every message in and out, and
the analytics' summary (channels/analytics_summary.py)."""

from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    insert,
)
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


# The analytics' summary: what a period's figures need, per conversation and day (UTC), kept by
# channels/analytics_summary.py from the messages and Rasa's tracker events. Counts, days, times
# and the values the bot records for analytics; never a text. "Next" columns name the next day the
# same conversation has the same fact (None: none yet), so that a period counts each conversation
# once, on its last day in the period, without a DISTINCT over all its rows.
# The sender ids of Rasa's table (String(255)): a conversation the channel service may not know.
SENDER = String(255)
# SQLite: rows stored in primary-key order, so that a period is one contiguous range.
_CLUSTERED = {"sqlite_with_rowid": False}


class AnalyticsDay(Base):
    """One conversation on one day that has anything counted."""

    __tablename__ = "analytics_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(SENDER, primary_key=True, index=True)
    # Messages people wrote (channel service), fallbacks and "did you mean" (tracker).
    messages: Mapped[int] = mapped_column(Integer)
    messages_next: Mapped[date | None] = mapped_column(Date, nullable=True)
    fallbacks: Mapped[int] = mapped_column(Integer)
    did_you_mean: Mapped[int] = mapped_column(Integer)
    # None: neither an answer nor a failure (handoff, fallback) that day; otherwise whether the
    # day's last of them was an answer.
    solved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    solved_next: Mapped[date | None] = mapped_column(Date, nullable=True)

    __table_args__ = _CLUSTERED


class AnalyticsValue(Base):
    """How often one conversation recorded one value on one day: `kind` is a slot the bot sets for
    analytics (walkthrough, topic, feedback) or "task" (the value is the task's intent)."""

    __tablename__ = "analytics_values"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(SENDER, primary_key=True, index=True)
    # As the database's JSON functions give it ("" for a slot set to None).
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    # The next day with this value, and the next day with any value of this kind.
    next: Mapped[date | None] = mapped_column(Date, nullable=True)
    kind_next: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Of `events`, those at the day's last moment of this kind: where a walkthrough was left.
    last: Mapped[int] = mapped_column(Integer)

    __table_args__ = _CLUSTERED


class AnalyticsHandoff(Base):
    """A moment one conversation was handed to a person (several at once: `events`)."""

    __tablename__ = "analytics_handoffs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(SENDER, primary_key=True, index=True)
    at: Mapped[float] = mapped_column(Float, primary_key=True)
    events: Mapped[int] = mapped_column(Integer)

    __table_args__ = _CLUSTERED


class AnalyticsSource(Base):
    """How far the summary has read a source ("messages", "events"): every row up to `last_id`,
    except `holes`, ids missing when a newer row was read, which may yet be committed."""

    __tablename__ = "analytics_sources"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    # [[id, seen at (Unix seconds)], ...]
    holes: Mapped[list[list[float]]] = mapped_column(JSON)
    # Changes with every write, so that a refresh notices another writer's (analytics_summary._Mark).
    version: Mapped[int] = mapped_column(Integer)


SOURCES = ("messages", "events")
# The rows exist from the start (migration 0005 inserts them too): the summary's writers lock them.


@event.listens_for(AnalyticsSource.__table__, "after_create")
def _first_sources(table: Table, connection: Connection, **_: Any) -> None:
    connection.execute(
        insert(table), [{"name": name, "last_id": 0, "holes": [], "version": 0} for name in SOURCES]
    )
