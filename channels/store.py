"""The channel service's database: conversations and their messages (sync SQLAlchemy; the async
service calls it through a thread so that the event loop never waits on the database)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from channels.models import Author, Channel, Conversation, FailureLabel, Message, utc_now
from common.db import affected_rows, outlasting_outages
from common.pii import for_analytics

# Outgoing or incoming messages of one author: (text, buttons) in order.
Items = list[tuple[str, list[dict[str, str]]]]
# The bot's messages whose buttons still count as offered (see Store.offers).
OFFER_WINDOW = 100
# What people and staff write is stored masked (common/pii.py, stored analytics). A staff reply is
# still shown as written in the live chat: its text stays in this process's memory (the newest
# LIVE_TEXTS of them), never in the database.
MASKED_AUTHORS: frozenset[Author] = frozenset({"user", "staff"})
LIVE_AUTHORS: frozenset[Author] = frozenset({"staff"})
LIVE_TEXTS = 1000


@dataclass(frozen=True)
class Stored:
    """Messages just stored, with what their readers need to take them as they are."""

    messages: list[Message]
    # The conversation's last message before them (0 for none): a reader that has everything up
    # to it lacks exactly these, and need not read them back (channels/web/routes.py).
    after: int
    # For a user's message that waits for the bot: the conversation's messages that wait before
    # it, oldest first (answered before it, channels/kept.py).
    waiting_before: list[Message]


def conversation_id(channel: str, external_id: str) -> str:
    """A conversation's id in this service and in Rasa, e.g. "web-3f2a…" or "telegram-123456"."""
    return f"{channel}-{external_id}"


class Store:
    """The store's calls on a person's message (open_conversation, offers, append, opening) use
    SQLAlchemy Core, not the ORM, and no transaction where one statement does: under make
    scale-test's traffic the ORM's sessions and a transaction's BEGIN and ROLLBACK were most of
    the database's share of the service's CPU, and a query through the ORM cost two to three times
    one through Core. Their results are the same mapped classes, built from the rows."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        # Reads need no transaction: without one, each costs one round trip to the database
        # instead of three (BEGIN, the query, ROLLBACK).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reads = sessionmaker(self._autocommit, expire_on_commit=False)
        # message id → (conversation id, the text as written) of masked messages shown live.
        self._live: OrderedDict[int, tuple[str, str]] = OrderedDict()

    def _keep_live(self, messages: list[Message], texts: list[str]) -> None:
        for message, written in zip(messages, texts, strict=True):
            if message.author in LIVE_AUTHORS and message.text != written:
                self._live[message.id] = (message.conversation_id, written)
                # Detached (expire_on_commit=False): what the caller delivers, never written back.
                message.text = written
        while len(self._live) > LIVE_TEXTS:
            self._live.popitem(last=False)

    def _as_written(self, message: Message) -> Message:
        """The message with its text as written while this process still has it (a detached copy's
        attribute, never written back), else as stored."""
        live = self._live.get(message.id)
        if live is not None:
            message.text = live[1]
        return message

    @property
    def engine(self) -> Engine:
        """For reports that read with SQL of their own (channels/analytics.py)."""
        bind = self._sessions.kw["bind"]
        assert isinstance(bind, Engine), "the store's sessions are bound to one engine"
        return bind

    @outlasting_outages
    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._reads() as session:
            return session.get(Conversation, conversation_id)

    @outlasting_outages
    def open_conversation(self, channel: Channel, external_id: str, language: str) -> Conversation:
        """The conversation of this person on this channel, created on their first message."""
        key = {"conversation_id": conversation_id(channel, external_id)}
        with self._autocommit.connect() as connection:
            found = connection.execute(_CONVERSATION, key).first()
            if found is not None:
                return Conversation(**found._mapping)
            now = utc_now()
            values: dict[str, Any] = {"id": key["conversation_id"], "channel": channel}
            values |= {"external_id": external_id, "language": language, "state": "bot"}
            values |= {"created_at": now, "updated_at": now}
            try:
                connection.execute(_NEW_CONVERSATION, values)
            except IntegrityError:
                # Two first messages at once: the other one created it.
                return Conversation(**connection.execute(_CONVERSATION, key).one()._mapping)
        return Conversation(**values)

    def hand_off(self, conversation_id: str, ticket_id: int, language: str) -> None:
        self._update(conversation_id, state="handoff", ticket_id=ticket_id, language=language)

    def hand_back(self, conversation_id: str) -> None:
        self._update(conversation_id, state="bot", ticket_id=None)

    @outlasting_outages
    def conversation_of_ticket(self, ticket_id: int) -> Conversation | None:
        with self._reads() as session:
            query = select(Conversation).where(Conversation.ticket_id == ticket_id)
            return session.scalars(query).first()

    @outlasting_outages
    def append(
        self,
        conversation_id: str,
        author: Author,
        items: Items,
        pending: bool = True,
        answers: int | None = None,
    ) -> Stored:
        """Store messages (text, buttons) of one author in order; a user's and a staff member's
        text is stored masked (for_analytics), and the returned messages of staff have it as written.

        `pending` messages wait: for a push channel's delivery, or a user's for the bot's answer;
        the others are delivered as stored (what the widget reads itself). The user message
        `answers` names is marked answered in the same commit (channels/kept.py).

        What their readers need next (Stored) is read in the same call: a call of the store cost
        the service more CPU than a statement in it."""
        now = utc_now()
        rows = [
            {
                "conversation_id": conversation_id,
                "author": author,
                "text": for_analytics(text) if author in MASKED_AUTHORS else text,
                "buttons": buttons,
                "created_at": now,
                "delivered_at": None if pending else now,
            }
            for text, buttons in items
        ]
        key = {"conversation_id": conversation_id}
        # One INSERT of all the rows is atomic by itself: a transaction is needed only to mark an
        # answered message in the same commit.
        with (self.engine if answers is not None else self._autocommit).begin() as connection:
            if answers is not None:
                connection.execute(_ANSWERED, {"message_id": answers, "now": now})
            after = connection.execute(_LAST_ID, key).scalar() or 0
            waits = author == "user" and pending
            waiting = connection.execute(_WAITING, key).all() if waits else []
            ids = connection.execute(_NEW_MESSAGES, rows).scalars().all()
        messages = [Message(id=id_, **row) for id_, row in zip(ids, rows, strict=True)]
        self._keep_live(messages, [text for text, _ in items])
        return Stored(messages, after, [Message(**row._mapping) for row in waiting])

    @outlasting_outages
    def message(self, message_id: int) -> Message | None:
        with self._reads() as session:
            found = session.get(Message, message_id)
        return None if found is None else self._as_written(found)

    @outlasting_outages
    def offers(self, conversation_id: str, payload: str, recent: int = OFFER_WINDOW) -> bool:
        """Whether one of the bot's `recent` last messages in the conversation has a button with
        this payload (a button further back is read as its title instead)."""
        with self._autocommit.connect() as connection:
            found = connection.execute(_OFFERED, {"conversation_id": conversation_id, "limit": recent})
            offered = found.scalars().all()
        return any(button.get("payload") == payload for buttons in offered for button in buttons or [])

    @outlasting_outages
    def messages(
        self, conversation_id: str, after: int = 0, limit: int = 200, newest: bool = False
    ) -> list[Message]:
        """Up to `limit` messages after the id `after`, oldest first: the first ones, or the
        `newest` (the console opens a long conversation at its end)."""
        page = {"conversation_id": conversation_id, "after": after, "limit": limit}
        with self._autocommit.connect() as connection:
            rows = connection.execute(_NEWEST_AFTER if newest else _AFTER, page).all()
        found = [self._as_written(Message(**row._mapping)) for row in rows]
        return found[::-1] if newest else found

    @outlasting_outages
    def opening(
        self, conversation_id: str, after: int, limit: int
    ) -> tuple[Conversation | None, list[Message]]:
        """What a client opening the conversation gets first, on one connection: the conversation
        (None before its first message) and up to `limit` messages after the id `after`."""
        page = {"conversation_id": conversation_id, "after": after, "limit": limit}
        with self._autocommit.connect() as connection:
            row = connection.execute(_CONVERSATION, page).first()
            history = connection.execute(_AFTER, page).all()
        conversation = None if row is None else Conversation(**row._mapping)
        return conversation, [self._as_written(Message(**message._mapping)) for message in history]

    @outlasting_outages
    def undelivered(
        self, channel: Channel, limit: int = 100, conversation_id: str | None = None
    ) -> list[tuple[Conversation, Message]]:
        """Outgoing messages not yet delivered on this channel (or in one conversation), oldest first."""
        with self._reads() as session:
            query = (
                select(Conversation, Message)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(
                    Conversation.channel == channel,
                    Message.delivered_at.is_(None),
                    Message.author != "user",  # those wait for the bot, not for delivery
                )
                .order_by(Message.id)
                .limit(limit)
            )
            if conversation_id is not None:
                query = query.where(Conversation.id == conversation_id)
            found = [(conversation, message) for conversation, message in session.execute(query)]
        return [(conversation, self._as_written(message)) for conversation, message in found]

    @outlasting_outages
    def waiting_for_bot(
        self, conversation_id: str | None = None, limit: int = 100
    ) -> list[tuple[Conversation, Message]]:
        """Messages of people that the bot has not answered yet (in conversations it has, not
        the helpdesk), oldest first; of one conversation, or of all."""
        with self._reads() as session:
            query = (
                select(Conversation, Message)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(
                    Message.author == "user",
                    Message.delivered_at.is_(None),
                    Conversation.state == "bot",
                )
                .order_by(Message.id)
                .limit(limit)
            )
            if conversation_id is not None:
                query = query.where(Conversation.id == conversation_id)
            return [(conversation, message) for conversation, message in session.execute(query)]

    @outlasting_outages
    def mark_delivered(self, message_ids: list[int], when: datetime | None = None) -> None:
        if not message_ids:
            return
        with self._sessions() as session:
            session.execute(
                update(Message).where(Message.id.in_(message_ids)).values(delivered_at=when or utc_now())
            )
            session.commit()

    def forget(self, conversation_id: str) -> int:
        """Deletes the conversation and its messages (a person's request); returns how many messages."""
        for message_id in [key for key, (owner, _) in self._live.items() if owner == conversation_id]:
            del self._live[message_id]
        with self._sessions() as session:
            _zero_deleted_rows(session)
            deleted = session.execute(delete(Message).where(Message.conversation_id == conversation_id))
            session.execute(delete(Conversation).where(Conversation.id == conversation_id))
            session.commit()
            return affected_rows(deleted)

    def purge(self, before: datetime) -> tuple[int, int]:
        """Deletes the messages written before `before`, then the conversations left without any
        that have not changed since (none handed off); returns (messages, conversations)."""
        with self._sessions() as session:
            _zero_deleted_rows(session)
            messages = affected_rows(session.execute(delete(Message).where(Message.created_at < before)))
            emptied = (
                delete(Conversation)
                .where(Conversation.updated_at < before, Conversation.state != "handoff")
                .where(~select(Message.id).where(Message.conversation_id == Conversation.id).exists())
            )
            conversations = affected_rows(session.execute(emptied))
            session.commit()
            return messages, conversations

    # Labels of the failures page (channels/learning.py)

    @outlasting_outages
    def save_label(
        self,
        digest: str,
        text: str,
        language: str | None,
        label: str,
        staff_username: str,
        when: datetime,
    ) -> FailureLabel:
        """Labels a group of the failures page; labelling it again replaces the label, who and when.
        `text` must be masked and normalised already (channels.insights.normalise)."""
        with self._sessions() as session:
            found = session.scalars(select(FailureLabel).where(FailureLabel.digest == digest)).first()
            if found is None:
                found = FailureLabel(digest=digest, text=text, language=language)
                session.add(found)
            found.label, found.staff_username, found.created_at = label, staff_username, when
            try:
                session.commit()
            except IntegrityError:
                # The same group labelled twice at once: the later label wins.
                session.rollback()
                session.execute(
                    update(FailureLabel)
                    .where(FailureLabel.digest == digest)
                    .values(label=label, staff_username=staff_username, created_at=when)
                )
                session.commit()
                found = session.scalars(select(FailureLabel).where(FailureLabel.digest == digest)).one()
            session.refresh(found)
            session.expunge(found)
            return found

    @outlasting_outages
    def labels(self) -> list[FailureLabel]:
        """Every label, the oldest first."""
        with self._reads() as session:
            return list(session.scalars(select(FailureLabel).order_by(FailureLabel.id)))

    @outlasting_outages
    def _update(self, conversation_id: str, **values: object) -> None:
        with self._sessions() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(**values, updated_at=utc_now())
            )
            session.commit()


# The statements of a person's message, built once: building one (and its cache key) cost more
# than running it. Their parameters: conversation_id, after, limit, message_id, now.
_IN_CONVERSATION = Message.conversation_id == bindparam("conversation_id")
_CONVERSATION = select(Conversation.__table__).where(Conversation.id == bindparam("conversation_id"))
_NEW_CONVERSATION = insert(Conversation)
_PAGE = select(Message.__table__).where(_IN_CONVERSATION, Message.id > bindparam("after"))
_AFTER = _PAGE.order_by(Message.id).limit(bindparam("limit"))
_NEWEST_AFTER = _PAGE.order_by(Message.id.desc()).limit(bindparam("limit"))
_LAST_ID = select(func.max(Message.id)).where(_IN_CONVERSATION)
# The conversation's user messages that no answer has marked yet, oldest first.
_WAITING = (
    select(Message.__table__)
    .where(_IN_CONVERSATION, Message.author == "user", Message.delivered_at.is_(None))
    .order_by(Message.id)
    .limit(100)
)
_OFFERED = (
    select(Message.buttons)
    .where(_IN_CONVERSATION, Message.author == "bot")
    .order_by(Message.id.desc())
    .limit(bindparam("limit"))
)
_ANSWERED = update(Message).where(Message.id == bindparam("message_id")).values(delivered_at=bindparam("now"))
_NEW_MESSAGES = insert(Message).returning(Message.id, sort_by_parameter_order=True)


def _zero_deleted_rows(session: Session) -> None:
    # SQLite keeps deleted rows' bytes in free pages unless told to overwrite them.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
