"""The bot's buttons as Telegram inline keyboards, and pressed buttons back to the bot's payloads.

Telegram allows 1-64 bytes of callback_data, and payloads such as '/switch_language{"language":"pl"}'
can be longer. So a button carries only "<message id>:<index>", and the title and payload are read
back from the stored message: nothing a client sends is passed to Rasa unchecked.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.models import MAX_ID, Channel, Message
from channels.store import Store, conversation_id

CHANNEL: Channel = "telegram"
_CALLBACK_DATA = re.compile(r"(\d{1,18}):(\d{1,3})")


def callback_data(message_id: int, index: int) -> str:
    return f"{message_id}:{index}"


def parse_callback_data(data: str | None) -> tuple[int, int] | None:
    """(message id, button index) from callback data, or None when it is not ours."""
    match = _CALLBACK_DATA.fullmatch(data or "")
    if match is None or int(match[1]) > MAX_ID:
        return None
    return int(match[1]), int(match[2])


def keyboard(message: Message) -> InlineKeyboardMarkup | None:
    """One button a row: titles like "Get a Trusted Profile" are too long to sit side by side."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button["title"], callback_data=callback_data(message.id, index))]
            for index, button in enumerate(message.buttons)
        ]
    )


def find_button(store: Store, data: str | None, chat_id: int) -> dict[str, str] | None:
    """The button {title, payload} behind a pressed callback, when the bot sent it to this very
    chat; None for anything else (data of another bot, another chat's message, a forged index)."""
    parsed = parse_callback_data(data)
    if parsed is None:
        return None
    message_id, index = parsed
    message = store.message(message_id)
    own = conversation_id(CHANNEL, str(chat_id))
    if message is None or message.conversation_id != own or index >= len(message.buttons):
        return None
    return message.buttons[index]
