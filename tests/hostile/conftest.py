"""Fixtures of the hostile-input tests: the whole stack once per session (backend with demo data,
action server, Rasa with the trained model, channel service with Telegram polling a local Bot API
server), a person on the widget's WebSocket or in a Telegram chat, Rasa's tracker.

The channel service runs with a small flood limit that does not refill within a test run
(FLOOD_BURST messages per conversation, then one notice), so flood tests count exactly; every
other test keeps each conversation under it.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from channels.store import Store
from common.db import make_engine, make_session_factory
from devstack.project import RASA_TOKEN, Databases, Ports, Stack, running_stack

# The channel tests' local Bot API server and Telegram chat helper, reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels"))

from fake_bot_api import FakeBot, FakeBotApi, wait_for  # noqa: E402
from telegram_helpers import Chat  # noqa: E402

_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
PORTS = Ports(rasa=5605 + _OFFSET, actions=5655 + _OFFSET, backend=8601 + _OFFSET, channels=8600 + _OFFSET)
TELEGRAM_TOKEN = "7000000002:hostile-polling-token"
FLOOD_BURST = 12
WAIT = 60  # seconds for any one answer: a missing one fails the test instead of hanging it


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory, bot_api) -> Iterator[Stack]:
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    bot_api.bot(TELEGRAM_TOKEN)
    env = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_BASE_URL": bot_api.base_url,
        "TELEGRAM_BASE_FILE_URL": bot_api.base_file_url,
        "CHANNELS_RATE_LIMIT_BURST": str(FLOOD_BURST),
        # One message back every ten minutes: nothing refills while the tests run.
        "CHANNELS_RATE_LIMIT_PER_MINUTE": "0.1",
    }
    # Generous: on a busy machine loading the model alone can take minutes.
    with running_stack(PORTS, timeout=600, databases=databases, channels_env=env) as stack:
        yield stack


@pytest.fixture(scope="session")
def store(stack) -> Iterator[Store]:
    """The channel service's own database, read by the tests."""
    engine = make_engine(stack.databases.channels)
    yield Store(make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def telegram(stack, bot_api) -> Iterator[FakeBot]:
    bot = bot_api.bot(TELEGRAM_TOKEN)
    wait_for(lambda: bot.calls_of("getUpdates"), 60, "the channel service to poll Telegram")
    yield bot
    bot.stop_failing()


_chat_ids = iter(range(6_100_001, 6_200_000))


@pytest.fixture
def new_chat(telegram):
    """A Telegram chat of a new person: new_chat(language_code)."""

    def start(language_code: str | None = "uk") -> Chat:
        return Chat(telegram, next(_chat_ids), language_code)

    return start


def tracker(stack: Stack, conversation_id: str) -> dict[str, Any]:
    url = f"{stack.ports.rasa_url}/conversations/{conversation_id}/tracker"
    response = httpx.get(url, params={"token": RASA_TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()


def user_events(stack: Stack, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in tracker(stack, conversation_id)["events"] if e["event"] == "user"]


class Widget:
    """A person on the widget's WebSocket, as widget.js talks to it."""

    def __init__(self, stack: Stack, lang: str = "uk", session: str | None = None) -> None:
        self.session = session or str(uuid.uuid4())
        self.conversation_id = f"web-{self.session}"
        url = f"{stack.ports.channels_url.replace('http', 'ws')}/widget/ws?session={self.session}&lang={lang}"
        self.socket: ClientConnection = connect(url, open_timeout=WAIT, max_size=None)
        self.send({"type": "hello", "after": 0})
        assert self.receive()["type"] == "state"
        self.history: list[dict[str, Any]] = self.receive()["messages"]

    def send(self, frame: dict[str, Any]) -> None:
        self.socket.send(json.dumps(frame))

    def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        return json.loads(self.socket.recv(timeout=timeout))

    def say(self, text: str) -> list[dict[str, Any]]:
        """Sends a message; returns what the service answers (bot, system or staff messages)."""
        self.send({"type": "message", "text": text})
        return self.answer()

    def press(self, title: str, payload: str) -> list[dict[str, Any]]:
        self.send({"type": "button", "title": title, "payload": payload})
        return self.answer()

    def answer(self, timeout: float = WAIT) -> list[dict[str, Any]]:
        """The next messages not written by the person: one turn's answers are stored at once,
        so they come in one frame."""
        while True:
            frame = self.receive(timeout)
            if frame["type"] != "messages":
                continue
            answers = [m for m in frame["messages"] if m["author"] != "user"]
            if answers:
                return answers

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def widget(stack) -> Iterator[Any]:
    """Opens widget conversations: widget(lang="pl"); closed after the test."""
    opened: list[Widget] = []

    def open_widget(lang: str = "uk", session: str | None = None) -> Widget:
        opened.append(Widget(stack, lang, session))
        return opened[-1]

    yield open_widget
    for each in opened:
        each.close()


def healthy(stack: Stack) -> bool:
    return httpx.get(f"{stack.ports.channels_url}/ready", timeout=10).status_code == 200
