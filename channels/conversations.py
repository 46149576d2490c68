"""The heart of the channel service: a person's message goes to Rasa (or, while handed off, to
the helpdesk), and every reply is stored, then delivered on the person's own channel.

Rasa's replies come back from its REST channel. The bot's handoff action adds a custom message
{"handoff": {"ticket_id": N}} and pauses its conversation; from then on the user's messages go to
the ticket and are appended to the Rasa tracker (so it stays complete) without reaching the
dialogue, until staff hand the conversation back (resume).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from channels.backend_client import BackendClient, BackendError
from channels.hub import Hub
from channels.intake import MENU_PAYLOADS, clean, is_command
from channels.models import Conversation, Message
from channels.rasa_client import RasaClient, RasaUnavailable
from channels.ratelimit import FloodGuard, Pace
from channels.store import Items, Store, conversation_id
from channels.texts import language_or_default, notice
from common.logs import mask

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
# Channels whose clients read their messages themselves (the widget's socket); the service
# pushes every other channel's messages through its Deliverer.
PULLED_CHANNELS = frozenset({"web"})


class Deliverer(Protocol):
    """Sends stored outgoing messages to a person on a push channel (e.g. Telegram)."""

    async def deliver(self, conversation: Conversation, messages: list[Message]) -> None: ...


class ConversationService:
    def __init__(
        self,
        store: Store,
        rasa: RasaClient,
        backend: BackendClient,
        hub: Hub,
        flood: FloodGuard | None = None,
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.backend = backend
        self.hub = hub
        self.flood = flood if flood is not None else FloodGuard()
        # Channels whose messages are pushed by the service; the widget reads its messages itself.
        self.deliverers: dict[str, Deliverer] = {}

    async def receive(
        self,
        channel: str,
        external_id: str,
        text: str,
        language_hint: str | None = None,
        payload: str | None = None,
    ) -> list[Message]:
        """Handle one message of a person; returns what was sent back (nothing while handed off).

        A pressed button arrives as its title (`text`, what the transcript shows) and its
        `payload` (what Rasa gets): only a payload the bot offered in this conversation, or a menu
        command, is sent as such; any other is treated as if the person had typed the title.
        Blank messages are ignored; floods, oversized texts and typed commands get a notice."""
        text = clean(text)
        if not text:
            return []
        pace = self.flood.check(conversation_id(channel, external_id))
        if pace is Pace.DROP:
            return []  # already told to slow down: nothing is stored, nothing answered
        language = language_or_default(language_hint)
        conversation = await asyncio.to_thread(self.store.open_conversation, channel, external_id, language)
        if pace is Pace.WARN:
            return await self._notify(conversation, "too_fast")
        if len(text) > MAX_TEXT:
            return await self._notify(conversation, "too_long")
        await self._store(conversation, "user", [(text, [])])
        if conversation.state == "handoff":
            # To a person, never parsed by Rasa: a leading "/" is harmless here.
            await self._to_helpdesk(conversation, text)
            return []
        if payload and await self._offered(conversation, payload):
            return await self._to_bot(conversation, payload, language_hint)
        if is_command(text):
            return await self._notify(conversation, "command_typed")
        return await self._to_bot(conversation, text, language_hint)

    async def staff_reply(self, ticket_id: int, text: str, staff_token: str) -> Message:
        """A helpdesk reply: recorded on the ticket (as that person), then sent to the user."""
        conversation = await self._conversation_of(ticket_id)
        reply = await self.backend.reply(ticket_id, text, staff_token)
        sent = await self._send(conversation, "staff", [(text, [])])
        metadata = {"author": "staff", "staff_username": reply.get("staff_username")}
        await self._record_in_tracker(self.rasa.append_bot_message(conversation.id, text, metadata))
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

    async def _to_bot(
        self, conversation: Conversation, text: str, language_hint: str | None
    ) -> list[Message]:
        metadata = {"channel": conversation.channel, "language": language_hint or conversation.language}
        try:
            replies = await self.rasa.send(conversation.id, text, metadata)
        except RasaUnavailable as error:
            logger.warning("Rasa unavailable for %s: %s", conversation.id, error)
            return await self._notify(conversation, "rasa_unavailable")
        items, handoff = _read_replies(replies)
        sent = await self._send(conversation, "bot", items)
        if handoff is not None:
            ticket_id, language = handoff
            await asyncio.to_thread(self.store.hand_off, conversation.id, ticket_id, language)
            self.hub.publish(conversation.id, {"type": "state", "state": "handoff", "ticket_id": ticket_id})
        return sent

    async def _to_helpdesk(self, conversation: Conversation, text: str) -> None:
        assert conversation.ticket_id is not None
        try:
            await self.backend.add_user_message(conversation.ticket_id, text)
        except BackendError as error:
            # The message is stored here and shown in the console's transcript all the same.
            logger.warning(
                "ticket %s: user message not recorded in the backend: %s", conversation.ticket_id, error
            )
        metadata = {"channel": conversation.channel, "handoff": True}
        await self._record_in_tracker(self.rasa.append_user_message(conversation.id, mask(text), metadata))

    async def _offered(self, conversation: Conversation, payload: str) -> bool:
        if payload in MENU_PAYLOADS:
            return True
        return await asyncio.to_thread(self.store.offers, conversation.id, payload)

    async def _notify(self, conversation: Conversation, key: str) -> list[Message]:
        """One of the service's own notices, in the conversation's language."""
        return await self._send(conversation, "system", [(notice(key, conversation.language), [])])

    async def _send(self, conversation: Conversation, author: str, items: Items) -> list[Message]:
        messages = await self._store(conversation, author, items)
        deliverer = self.deliverers.get(conversation.channel)
        if deliverer is not None and messages:
            await deliverer.deliver(conversation, messages)
        return messages

    async def _store(self, conversation: Conversation, author: str, items: Items) -> list[Message]:
        if not items:
            return []
        pending = author != "user" and conversation.channel not in PULLED_CHANNELS
        messages = await asyncio.to_thread(self.store.add_messages, conversation.id, author, items, pending)
        self.hub.publish(conversation.id, {"type": "messages", "last_id": messages[-1].id})
        return messages

    async def _conversation_of(self, ticket_id: int) -> Conversation:
        conversation = await asyncio.to_thread(self.store.conversation_of_ticket, ticket_id)
        if conversation is None:
            raise BackendError(
                404, "conversation_not_found", "No conversation is handed off with this ticket."
            )
        return conversation

    async def _record_in_tracker(self, call: Awaitable[None]) -> None:
        try:
            await call
        except RasaUnavailable as error:
            logger.warning("tracker not updated: %s", error)


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
