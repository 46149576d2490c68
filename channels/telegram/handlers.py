"""What the bot does with each update from Telegram: commands, text, pressed buttons, everything else.

Replies are not sent here: the conversation service stores them and hands them to the
TelegramDeliverer. Only the channel's own answers (to a sticker, to an unknown button), the notice
of a database outage (nothing can be stored then) and the apology when the service itself fails
are sent directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeAlias

from telegram import Bot, Update, User
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    filters,
)

from channels.conversations import ConversationService, Outage
from channels.locks import KeyedLocks
from channels.telegram.keyboards import CHANNEL, find_button
from channels.texts import language_or_default, notice
from common.db import DatabaseUnavailable

logger = logging.getLogger(__name__)

# The bot's commands and the intents they stand for.
COMMANDS = {"start": "/greet", "help": "/help", "language": "/switch_language"}
# Any other command shows what the bot can do, rather than reaching Rasa as an unknown intent.
UNKNOWN_COMMAND = "/help"
# Telegram shows "typing…" for 5 seconds after each chat action.
TYPING_REFRESH_SECONDS = 4.0

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
Sleep = Callable[[float], Awaitable[None]]
# The application runner.build_application makes: PTB's default context, a rate-limited bot
# (AIORateLimiter's per-call argument is its retry count, an int).
BotApplication: TypeAlias = Application[
    ExtBot[int],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


def language_hint(user: User | None) -> str | None:
    """Telegram's language_code (an IETF tag such as "uk" or "en-GB") when it is one of ours."""
    return language_or_default(user.language_code if user else None, default="") or None


class Handlers:
    def __init__(self, service: ConversationService) -> None:
        self._service = service
        # One message of a chat at a time, in the order they came: Rasa must see them in order.
        self._chats = KeyedLocks()
        # Updates taken up and finished (counts only, GET /telegram/status): what a test waits
        # for before it checks that nothing more happened.
        self.updates_handled = 0
        self.updates_in_progress = 0

    def register(self, application: BotApplication) -> None:
        # The bot talks about personal documents (PESEL, passwords): private chats only, never groups.
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        counted = self._counted
        for command, payload in COMMANDS.items():
            application.add_handler(CommandHandler(command, counted(self._command(payload)), filters=private))
        unknown = counted(self._command(UNKNOWN_COMMAND))
        application.add_handler(MessageHandler(private & filters.COMMAND, unknown))
        application.add_handler(MessageHandler(private & filters.TEXT, counted(self._text)))
        application.add_handler(MessageHandler(private & ~filters.TEXT, counted(self._not_text)))
        application.add_handler(CallbackQueryHandler(counted(self._button)))
        application.add_error_handler(self._error)

    def _counted(self, callback: Callback) -> Callback:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            self.updates_in_progress += 1
            try:
                await callback(update, context)
            finally:
                self.updates_in_progress -= 1
                self.updates_handled += 1

        return handle

    def _command(self, payload: str) -> Callback:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            assert message is not None and message.text is not None
            # The transcript shows what the person typed; Rasa gets the intent.
            await self._converse(context.bot, message.chat_id, update.effective_user, message.text, payload)

        return handle

    async def _text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        await self._converse(context.bot, message.chat_id, update.effective_user, message.text, None)

    async def _not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await self._notify(context.bot, message.chat_id, update.effective_user, "text_only")

    async def _button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        chat = update.effective_chat
        button = None
        unavailable = False
        try:
            if chat is not None and chat.type == ChatType.PRIVATE:
                button = await asyncio.to_thread(find_button, self._service.store, query.data, chat.id)
        except DatabaseUnavailable as error:
            logger.warning("Telegram button of %s not handled: %s", chat.id if chat else None, error)
            unavailable = True
        finally:
            # Until a query is answered, the person's app shows a spinner on the button; so every
            # query is answered, an unknown button with a notice (and it goes no further). Telegram
            # refuses answers after about 15 s (a backlog after a restart): the press still counts.
            language = language_or_default(language_hint(query.from_user))
            with contextlib.suppress(TelegramError):
                await query.answer(None if button or unavailable else notice("button_expired", language))
        if unavailable and chat is not None:
            hint = language_hint(query.from_user)
            await context.bot.send_message(chat.id, self._service.unsaved_notice(CHANNEL, str(chat.id), hint))
        if button is None or chat is None:
            return
        # Buttons of earlier messages act on where the conversation is now (an old "Next" would
        # skip a step), so a pressed keyboard goes away; the reply brings the buttons that apply.
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        await self._converse(context.bot, chat.id, query.from_user, button["title"], button["payload"])

    async def _converse(
        self, bot: Bot, chat_id: int, user: User | None, text: str, payload: str | None
    ) -> None:
        hint = language_hint(user)
        async with self._chats.hold(str(chat_id)), _typing(bot, chat_id):
            try:
                await self._service.receive(CHANNEL, str(chat_id), text, language_hint=hint, payload=payload)
            except Outage as outage:
                logger.warning("Telegram message of %s not handled: %s", chat_id, outage.__cause__)
                await bot.send_message(chat_id, outage.notice)  # nothing can be stored to deliver
            except Exception:
                # Rasa being down is answered by the service itself; this is anything else (the
                # database, a bug). The person still hears that the bot cannot answer now.
                logger.exception("Telegram message of %s not handled", chat_id)
                await self._notify(bot, chat_id, user, "rasa_unavailable")

    async def _notify(self, bot: Bot, chat_id: int, user: User | None, key: str) -> None:
        """One of the channel's own notices, in the language of the person's Telegram app."""
        await bot.send_message(chat_id, notice(key, language_or_default(language_hint(user))))

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("Telegram update failed", exc_info=context.error)


@contextlib.asynccontextmanager
async def _typing(bot: Bot, chat_id: int, sleep: Sleep = asyncio.sleep) -> AsyncIterator[None]:
    """Shows "typing…" from now until the block ends, however long Rasa takes (renewed after
    each `sleep` of TYPING_REFRESH_SECONDS; a test passes a sleep it ends itself)."""

    async def keep_typing() -> None:
        while True:
            await sleep(TYPING_REFRESH_SECONDS)
            await _send_typing(bot, chat_id)

    await _send_typing(bot, chat_id)
    refresher = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher


async def _send_typing(bot: Bot, chat_id: int) -> None:
    # Only a courtesy: a failed chat action must not stop the message itself.
    with contextlib.suppress(TelegramError):
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
