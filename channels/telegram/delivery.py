"""Stored outgoing messages to Telegram, each exactly once and in order, retried until Telegram takes them.

Every reply (the bot's, staff's, the service's notices) is stored before it is sent, and marked
delivered only after Telegram accepted all of it. What Telegram refused for a while (network errors,
server errors, flood limits beyond the rate limiter's retries) or what was stored just before the
service stopped stays undelivered, and the retry loop sends it later. One sender at a time per
conversation, and each send re-reads what is still undelivered, so that the live path and the retry
loop never send a message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, TelegramError

from channels.locks import KeyedLocks
from channels.models import Conversation, Message
from channels.store import Store
from channels.telegram.keyboards import CHANNEL, keyboard
from channels.telegram.splitting import split_text
from common.db import DatabaseUnavailable

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
# The guides link their sources; a preview card under every step would bury the text.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramDeliverer:
    """The Deliverer of the "telegram" channel (conversation.external_id is the chat id)."""

    def __init__(self, bot: Bot, store: Store, retry_seconds: float = RETRY_SECONDS) -> None:
        self._bot = bot
        self._store = store
        self._retry_seconds = retry_seconds
        self._senders = KeyedLocks()
        # Set once the bot is initialized: before that, python-telegram-bot cannot send anything.
        self.ready = asyncio.Event()
        # Retry rounds finished (GET /telegram/status): a test waits for one instead of a time.
        self.rounds = 0

    async def deliver(self, conversation: Conversation, messages: list[Message]) -> None:
        """Send the conversation's undelivered messages, oldest first: the new `messages` and any
        left over from an earlier failure, which must not arrive after them. Never raises for
        Telegram's errors: what was not sent stays undelivered for the retry loop."""
        await self._flush(conversation)

    async def retry_until(self, stop: asyncio.Event) -> None:
        """Every few seconds, send what is left undelivered (after a failure, or from before a
        restart), until `stop` is set. A round in progress is finished rather than cancelled: a
        message cut off mid-send could reach the person without being marked, and go again."""
        while not stop.is_set():
            if self.ready.is_set():
                try:
                    await self.retry_undelivered()
                except DatabaseUnavailable as error:
                    logger.warning("undelivered Telegram messages not retried: %s", error)
                except Exception:
                    # The loop must outlive a database hiccup; the next round tries again.
                    logger.exception("retrying undelivered Telegram messages failed")
                self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry_seconds)

    async def retry_undelivered(self) -> None:
        pending = await asyncio.to_thread(self._store.undelivered, CHANNEL)
        conversations = {conversation.id: conversation for conversation, _ in pending}
        for conversation in conversations.values():
            if not await self._flush(conversation):
                return  # Telegram still fails: the next round tries again

    async def _flush(self, conversation: Conversation) -> bool:
        """True when nothing of the conversation is left undelivered."""
        if not self.ready.is_set():
            return False
        async with self._senders.hold(conversation.id):
            pending = await asyncio.to_thread(
                self._store.undelivered, CHANNEL, conversation_id=conversation.id
            )
            for _, message in pending:
                try:
                    await self._send(int(conversation.external_id), message)
                except (Forbidden, BadRequest) as error:
                    # The person blocked the bot or deleted the chat, or Telegram refuses this
                    # message as it is: sending again would fail forever and hold up the rest.
                    logger.warning(
                        "message %s to %s given up: %s", message.id, conversation.id, error.message
                    )
                except TelegramError as error:
                    logger.warning(
                        "message %s to %s not delivered yet: %s", message.id, conversation.id, error
                    )
                    return False
                await asyncio.to_thread(self._store.mark_delivered, [message.id])
        return True

    async def _send(self, chat_id: int, message: Message) -> None:
        """One stored message, split at Telegram's length limit; its buttons go on the last part.

        A failure after some parts were sent sends the whole message again later: the person may
        see those parts twice, which beats losing the rest."""
        parts = split_text(message.text)
        for number, part in enumerate(parts, start=1):
            await self._bot.send_message(
                chat_id,
                part,
                reply_markup=keyboard(message) if number == len(parts) else None,
                link_preview_options=NO_PREVIEW,
            )
