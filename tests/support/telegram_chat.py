"""Helpers of the Telegram tests: a person in a private chat with the bot, played through the
local Bot API server; the bot's expected responses (bot/domain/generated_responses.yml); a channel
service run in the test process."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from channels.app import create_app
from channels.config import Settings
from tests.support.asgi_server import ServerThread, bound_socket
from tests.support.responses import bot_responses
from tests.support.telegram_api import FakeBot, FakeBotApi


def response(name: str, language: str) -> dict[str, Any]:
    """The response's variation in `language`: {"text", "buttons"?}."""
    [variation] = [v for v in bot_responses()[name] if v["condition"][0]["value"] == language]
    return variation


class Chat:
    def __init__(self, bot: FakeBot, chat_id: int, language_code: str | None = "uk") -> None:
        self.bot, self.chat_id, self.language_code = bot, chat_id, language_code
        self._seen = 0  # messages of the bot before the person's last action

    def say(self, text: str) -> None:
        self._seen = len(self.sent())
        self.bot.send_text(self.chat_id, text, self.language_code)

    def send_sticker(self) -> None:
        self._seen = len(self.sent())
        self.bot.send_sticker(self.chat_id, self.language_code)

    def press(self, title: str) -> str:
        """Press the button titled `title` under the newest message that has it; returns the query id."""
        for message in reversed(self.sent()):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                if row[0]["text"] == title:
                    return self.press_data(message["message_id"], row[0]["callback_data"])
        raise AssertionError(f"no button {title!r} in the chat")

    def press_data(self, message_id: int, data: str) -> str:
        """A button press with any callback data (a modified app can send whatever it likes)."""
        self._seen = len(self.sent())
        return self.bot.press(self.chat_id, message_id, data, self.language_code)

    def sent(self) -> list[dict[str, Any]]:
        return self.bot.sent(self.chat_id)

    def new(self) -> list[dict[str, Any]]:
        """The bot's messages since the person's last action."""
        return self.sent()[self._seen :]

    def expect(self, *names: str, language: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until the bot's new messages say exactly these responses in `language`; returns them.

        Rasa's REST channel sends each paragraph of a text without buttons as a message of its own,
        so the texts are compared joined by paragraphs."""
        return self.expect_text("\n\n".join(response(n, language)["text"] for n in names), timeout)

    def expect_text(self, expected: str, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.new()
            if "\n\n".join(m["text"] for m in messages) == expected:
                return messages
            time.sleep(0.1)
        said = "\n\n".join(m["text"] for m in self.new())
        assert said == expected, f"chat {self.chat_id}: the bot said something else"
        return self.new()


@contextlib.contextmanager
def channel_service(bot_api: FakeBotApi, token: str, database: Path, **settings: Any) -> Iterator[str]:
    """A channel service (the app `python -m channels` runs) in a thread of this process, its bot
    talking to the local Bot API server; yields its URL."""
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    defaults: dict[str, Any] = {
        "channels_database_url": f"sqlite:///{database}",
        "channels_public_url": url,
        "telegram_bot_token": token,
        "telegram_mode": "polling",
        "telegram_base_url": bot_api.base_url,
        "telegram_base_file_url": bot_api.base_file_url,
    }
    server = ServerThread(create_app(Settings(**{**defaults, **settings})), sock)
    server.start()
    try:
        yield url
    finally:
        server.stop()
