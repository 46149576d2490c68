"""The heart of the channel service: a person's message goes to Rasa (or, while handed off, to
the helpdesk), and every reply is stored, then delivered on the person's own channel.

Rasa's replies come back from its REST channel. The bot's handoff action adds a custom message
{"handoff": {"ticket_id": N}} and pauses its conversation; from then on the user's messages go to
the ticket and are appended to the Rasa tracker (so it stays complete) without reaching the
dialogue, until staff hand the conversation back (resume).

A message the bot cannot answer yet (Rasa or its action server down or restarting, this service
restarted mid-turn) is kept and answered later, in order and once: channels/kept.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, Protocol

from channels.hub import Hub
from channels.intake import MENU_PAYLOADS, clean, is_command
from channels.kept import MAX_TRIES, MESSAGE_ID, ORPHANED_AFTER, Pending, replies_in_tracker
from channels.locks import KeyedLocks
from channels.models import Author, Channel, Conversation, Message
from channels.rasa_client import RasaApi, RasaUnavailable
from channels.ratelimit import FloodGuard, Pace
from channels.store import Items, Store, Stored, conversation_id
from channels.texts import language_or_default, notice
from common.backend_client import ApiError, BackendClient
from common.db import DatabaseUnavailable
from common.pii import for_analytics

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
# Channels whose clients read their messages themselves (the widget's socket); the service
# pushes every other channel's messages through its Deliverer.
PULLED_CHANNELS: frozenset[Channel] = frozenset({"web"})
# Conversations whose language this process remembers at most (the least recently seen go first).
LANGUAGES_REMEMBERED = 10_000


class Outage(Exception):
    """The database stayed unreachable (common.db.DatabaseUnavailable) while a person's message
    was handled. Nothing can be stored, so their channel tells them `notice` directly, in their
    conversation's language: the message was not saved and is to be sent again, or it was saved
    and its answer will come (channels/kept.py answers it once the database is back)."""

    def __init__(self, notice: str) -> None:
        super().__init__("the database is unavailable")
        self.notice = notice


class Deliverer(Protocol):
    """Sends stored outgoing messages to a person on a push channel (e.g. Telegram)."""

    async def deliver(self, conversation: Conversation, messages: list[Message]) -> None: ...


class ConversationService:
    def __init__(
        self,
        store: Store,
        rasa: RasaApi,
        backend: BackendClient,
        hub: Hub,
        flood: FloodGuard | None = None,
        orphaned_after: float = ORPHANED_AFTER,
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.backend = backend
        self.hub = hub
        self.flood = flood if flood is not None else FloodGuard()
        # Channels whose messages are pushed by the service; the widget reads its messages itself.
        self.deliverers: dict[Channel, Deliverer] = {}
        # One turn of a conversation at a time (the live path and the retry loop), in order.
        self._turns = KeyedLocks()
        self._pending = Pending(orphaned_after)
        # conversation id → its language, for the notice of an outage when the database cannot say.
        self._languages: OrderedDict[str, str] = OrderedDict()

    async def receive(
        self,
        channel: Channel,
        external_id: str,
        text: str,
        language_hint: str | None = None,
        payload: str | None = None,
    ) -> list[Message]:
        """Handle one message of a person; returns what was sent back (nothing while handed off).

        A pressed button arrives as its title (`text`, what the transcript shows) and its
        `payload` (what Rasa gets): only a payload the bot offered in this conversation, or a menu
        command, is sent as such; any other is treated as if the person had typed the title.
        Blank messages are ignored; floods, oversized texts and typed commands get a notice.
        Raises Outage when the database stays unreachable."""
        text = clean(text)
        if not text:
            return []
        key = conversation_id(channel, external_id)
        pace = self.flood.check(key)
        if pace is Pace.DROP:
            return []  # already told to slow down: nothing is stored, nothing answered
        language = language_or_default(language_hint)
        try:
            conversation = await asyncio.to_thread(
                self.store.open_conversation, channel, external_id, language
            )
        except DatabaseUnavailable as error:
            raise Outage(self.unsaved_notice(channel, external_id, language_hint)) from error
        self._remember_language(conversation.id, conversation.language)
        if pace is Pace.WARN:
            return await self._refuse(conversation, "too_fast")
        if len(text) > MAX_TEXT:
            return await self._refuse(conversation, "too_long")
        # The conversation's turn from storing the message on: the retry loop must not take up
        # the message before what Rasa is to get of it is known.
        async with self._turns.hold(conversation.id):
            return await self._take(conversation, text, payload, language_hint)

    def unsaved_notice(self, channel: Channel, external_id: str, language_hint: str | None) -> str:
        """What a person hears whose message could not be stored: in their conversation's language
        as this process last saw it (the database cannot say), else in the channel's hint."""
        language = self._languages.get(conversation_id(channel, external_id))
        return notice("outage_send_again", language or language_or_default(language_hint))

    async def _take(
        self, conversation: Conversation, text: str, payload: str | None, language_hint: str | None
    ) -> list[Message]:
        # While the bot has it, the message waits for the bot's answer (channels/kept.py). What
        # Rasa is to get is known before it is stored, so that a stored message that waits is
        # always one that this process keeps (and answers once the database is back).
        handed_off = conversation.state == "handoff"
        try:
            rasa_input = None if handed_off else await self._rasa_input(conversation, text, payload)
            waiting = rasa_input is not None
            stored = await self._store(conversation, "user", [(text, [])], waiting=waiting)
            [message] = stored.messages
        except DatabaseUnavailable as error:
            raise Outage(notice("outage_send_again", conversation.language)) from error
        if handed_off:
            # To a person, never parsed by Rasa: a leading "/" is harmless here.
            await self._to_helpdesk(conversation, text)
            return []
        if rasa_input is None:
            return await self._refuse(conversation, "command_typed")
        try:
            waiting_now = [*stored.waiting_before, message]
            return await self._to_bot(conversation, message, rasa_input, language_hint, waiting_now)
        except DatabaseUnavailable as error:
            if self._pending.input_of(message.id) is None:
                raise  # answered already: only what followed the answer was not stored
            raise Outage(notice("outage_kept", conversation.language)) from error

    async def _rasa_input(self, conversation: Conversation, text: str, payload: str | None) -> str | None:
        """What Rasa gets for the message: a payload the bot offered, else the text; None for a
        typed command, which gets a notice instead."""
        if payload and await self._offered(conversation, payload):
            return payload
        return None if is_command(text) else text

    async def staff_reply(self, ticket_id: int, text: str, staff_token: str) -> Message:
        """A helpdesk reply: recorded on the ticket (as that person), then sent to the user."""
        conversation = await self._conversation_of(ticket_id)
        reply = await self.backend.reply(ticket_id, text, staff_token)
        sent = await self._send(conversation, "staff", [(text, [])])
        metadata = {"author": "staff", "staff_username": reply.get("staff_username")}
        await self._record_in_tracker(
            self.rasa.append_bot_message(conversation.id, for_analytics(text), metadata)
        )
        return sent[0]

    async def hand_back(self, ticket_id: int, staff_token: str) -> None:
        """Give the conversation back to the bot (which says so to the user) and close the ticket.

        Rasa resumes first: if it cannot, the conversation stays with the helpdesk rather than
        reaching a bot that would stay silent."""
        conversation = await self._conversation_of(ticket_id)
        await self.rasa.resume(conversation.id)
        await self.backend.close_ticket(ticket_id, staff_token)
        await asyncio.to_thread(self.store.hand_back, conversation.id)
        text = notice("handed_back", conversation.language)
        await self._record_in_tracker(
            self.rasa.append_bot_message(conversation.id, text, {"author": "system"})
        )
        await self._send(conversation, "system", [(text, [])])
        self.hub.publish(conversation.id, {"type": "state", "state": "bot"})

    async def answer_waiting_until(self, stop: asyncio.Event, every: float) -> None:
        """Every few seconds, answer the messages kept while the bot could not (Rasa or the
        action server down or restarting, or this service restarted mid-turn), until `stop`."""
        while not stop.is_set():
            try:
                await self.answer_waiting()
            except DatabaseUnavailable as error:
                logger.warning("kept messages not answered yet: %s", error)
            except Exception:
                # The loop must outlive a database hiccup; the next round tries again.
                logger.exception("answering kept messages failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def answer_waiting(self) -> None:
        """One round: each conversation's kept messages, oldest first, once the bot is back.

        A conversation whose turn is in progress is left to it (the live turn answers what waits
        before its message), and so are messages another instance has in hand: under load every
        conversation has a message waiting for the bot at almost any moment, and looking at each
        again cost a database session per conversation and round."""
        waiting = await asyncio.to_thread(self.store.waiting_for_bot)
        conversations = {
            conversation.id: conversation
            for conversation, message in waiting
            if not self._turns.busy(conversation.id) and self._pending.ours_or_orphaned(message)
        }
        if not conversations or not (await self.rasa.is_ready() and await self.rasa.actions_ready()):
            return
        for conversation in conversations.values():
            async with self._turns.hold(conversation.id):
                await self._answer_kept(conversation, None, live=False)

    async def _to_bot(
        self,
        conversation: Conversation,
        message: Message,
        text: str,
        language_hint: str | None,
        waiting: list[Message],
    ) -> list[Message]:
        self._pending.keep(message.id, text)
        return await self._answer_kept(conversation, language_hint, live=True, waiting=waiting)

    async def _answer_kept(
        self,
        conversation: Conversation,
        language_hint: str | None,
        live: bool,
        waiting: list[Message] | None = None,
    ) -> list[Message]:
        """The conversation's messages waiting for the bot (`waiting`, else as stored now), in
        order, until one cannot be answered yet: then the person hears that their message is kept
        (once per message they send)."""
        if waiting is None:
            waiting = [m for _, m in await asyncio.to_thread(self.store.waiting_for_bot, conversation.id)]
        sent: list[Message] = []
        for message in waiting:
            if not self._pending.ours_or_orphaned(message):
                continue  # another instance of the service has it in hand
            try:
                sent += await self._turn(conversation, message, language_hint)
            except RasaUnavailable as error:
                logger.warning("bot unavailable for %s: %s", conversation.id, error)
                if not live and self._pending.count_failure(message.id) >= MAX_TRIES:
                    # Rasa is up, yet fails on this very message: give up on it, tell the person.
                    self._pending.forget(message.id)
                    sent += await self._notify(conversation, "rasa_unavailable", answers=message.id)
                    continue
                if live:
                    sent += await self._notify(conversation, "kept_for_later")
                break
        return sent

    async def _turn(
        self, conversation: Conversation, message: Message, language_hint: str | None
    ) -> list[Message]:
        """Answers one waiting message; raises RasaUnavailable while the bot cannot, and it waits on."""
        rasa_input = self._pending.input_of(message.id)
        replies = None
        if rasa_input is None or self._pending.was_sent(message.id):
            # Rasa may have handled it already (a restart of this service mid-turn, an error).
            replies = replies_in_tracker(await self.rasa.tracker_events(conversation.id), message.id)
            if replies is None and rasa_input is None:
                self._pending.forget(message.id)
                return await self._notify(conversation, "send_again", answers=message.id)
            if replies is None and self._pending.is_unsure(message.id):
                # Rasa may still be working on it: sending it again would make it a second turn.
                raise RasaUnavailable("a timed-out message is not in the tracker (yet)")
        if replies is None:
            assert rasa_input is not None, "a message without its input was answered 'send again' above"
            if not await self.rasa.actions_ready():
                raise RasaUnavailable("the action server is not ready")
            metadata = {
                "channel": conversation.channel,
                "language": language_hint or conversation.language,
                MESSAGE_ID: message.id,
            }
            self._pending.mark_sent(message.id)
            try:
                replies = await self.rasa.send(conversation.id, rasa_input, metadata)
            except RasaUnavailable as error:
                if error.may_be_processing:
                    self._pending.mark_unsure(message.id)
                raise
        items, handoff = _read_replies(replies)
        sent = await self._send(conversation, "bot", items, answers=message.id)
        # Only now: replies that could not be stored yet are read back from the tracker later.
        self._pending.forget(message.id)
        if handoff is not None:
            ticket_id, language = handoff
            await asyncio.to_thread(self.store.hand_off, conversation.id, ticket_id, language)
            self._remember_language(conversation.id, language)
            self.hub.publish(conversation.id, {"type": "state", "state": "handoff", "ticket_id": ticket_id})
        return sent

    async def _to_helpdesk(self, conversation: Conversation, text: str) -> None:
        assert conversation.ticket_id is not None
        try:
            await self.backend.add_user_message(conversation.ticket_id, text)
        except ApiError as error:
            # The message is stored here and shown in the console's transcript all the same.
            logger.warning(
                "ticket %s: user message not recorded in the backend: %s", conversation.ticket_id, error
            )
        metadata = {"channel": conversation.channel, "handoff": True}
        await self._record_in_tracker(
            self.rasa.append_user_message(conversation.id, for_analytics(text), metadata)
        )

    async def _offered(self, conversation: Conversation, payload: str) -> bool:
        if payload in MENU_PAYLOADS:
            return True
        return await asyncio.to_thread(self.store.offers, conversation.id, payload)

    async def _notify(
        self, conversation: Conversation, key: str, answers: int | None = None
    ) -> list[Message]:
        """One of the service's own notices, in the conversation's language (`answers`: the
        waiting user message it answers)."""
        items: Items = [(notice(key, conversation.language), [])]
        return await self._send(conversation, "system", items, answers=answers)

    async def _refuse(self, conversation: Conversation, key: str) -> list[Message]:
        """A notice in place of an answer (too fast, too long, a typed command), said directly when
        the database is gone: the person still learns what to do."""
        try:
            return await self._notify(conversation, key)
        except DatabaseUnavailable as error:
            raise Outage(notice(key, conversation.language)) from error

    async def _send(
        self, conversation: Conversation, author: Author, items: Items, answers: int | None = None
    ) -> list[Message]:
        messages = (await self._store(conversation, author, items, answers=answers)).messages
        deliverer = self.deliverers.get(conversation.channel)
        if deliverer is not None and messages:
            await deliverer.deliver(conversation, messages)
        return messages

    async def _store(
        self,
        conversation: Conversation,
        author: Author,
        items: Items,
        waiting: bool = False,
        answers: int | None = None,
    ) -> Stored:
        """Stores messages of one author. A user's message may be `waiting` for the bot; the
        messages that answer one (`answers`, its id) mark it answered in the same commit."""
        if not items:
            if answers is not None:  # the bot said nothing, but it has handled the message
                await asyncio.to_thread(self.store.mark_delivered, [answers])
            return Stored([], 0, [])
        pending = waiting if author == "user" else conversation.channel not in PULLED_CHANNELS
        stored = await asyncio.to_thread(self.store.append, conversation.id, author, items, pending, answers)
        # The messages themselves go along: a socket that has everything up to `after` sends
        # them without reading them back (channels/web/routes.py).
        hint = {"type": "messages", "last_id": stored.messages[-1].id, "after": stored.after}
        self.hub.publish(conversation.id, {**hint, "messages": stored.messages})
        return stored

    def _remember_language(self, conversation_id: str, language: str) -> None:
        self._languages[conversation_id] = language
        self._languages.move_to_end(conversation_id)
        if len(self._languages) > LANGUAGES_REMEMBERED:
            self._languages.popitem(last=False)

    async def _conversation_of(self, ticket_id: int) -> Conversation:
        conversation = await asyncio.to_thread(self.store.conversation_of_ticket, ticket_id)
        if conversation is None:
            raise NotHandedOff(ticket_id)
        return conversation

    async def _record_in_tracker(self, call: Awaitable[None]) -> None:
        try:
            await call
        except RasaUnavailable as error:
            logger.warning("tracker not updated: %s", error)


class NotHandedOff(LookupError):
    """No conversation of this service is handed off with the ticket (a lookup here, not the backend's)."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id}: no conversation is handed off with it")
        self.ticket_id = ticket_id


Handoff = tuple[int, str]  # the ticket's id, the conversation's language


def _read_replies(replies: list[dict[str, Any]]) -> tuple[Items, Handoff | None]:
    """Rasa's replies as (text, buttons), and the ticket when the bot handed the conversation off."""
    items: Items = []
    handoff = None
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
            ticket = custom["handoff"]
            handoff = (int(ticket["ticket_id"]), language_or_default(ticket.get("language")))
        if reply.get("text"):
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in reply.get("buttons") or []
            ]
            items.append((reply["text"], buttons))
    return items, handoff
