"""Fixtures of the hostile-input tests: the whole stack once per session (backend with demo data,
action server, Rasa with the trained model, channel service with Telegram polling the local Bot
API server), a person on the widget's WebSocket or in a Telegram chat.

The channel service runs with a small flood limit that does not refill within a test run
(`flood_burst` messages per conversation, then one notice), so flood tests count exactly; every
other test keeps each conversation under it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from channels.store import Store
from common.db import make_engine, make_session_factory
from devstack import LocalStack
from tests.support.stack import stack_for_tests, telegram_env
from tests.support.telegram_api import FakeBot
from tests.support.telegram_chat import Chat
from tests.support.widget import WidgetClient

FLOOD_BURST = 12


@pytest.fixture(scope="session")
def telegram_token() -> str:
    return "7000000002:hostile-polling-token"


@pytest.fixture(scope="session")
def flood_burst() -> int:
    return FLOOD_BURST


@pytest.fixture(scope="session")
def stack(tmp_path_factory, bot_api, telegram_token) -> Iterator[LocalStack]:
    channels_env = {
        **telegram_env(bot_api, telegram_token),
        "CHANNELS_RATE_LIMIT_BURST": str(FLOOD_BURST),
        # One message back every ten minutes: nothing refills while the tests run.
        "CHANNELS_RATE_LIMIT_PER_MINUTE": "0.1",
    }
    with stack_for_tests(tmp_path_factory, channels_env=channels_env) as stack:
        yield stack


@pytest.fixture(scope="session")
def store(stack) -> Iterator[Store]:
    """The channel service's own database, read by the tests."""
    engine = make_engine(stack.databases.channels)
    yield Store(make_session_factory(engine))
    engine.dispose()


_chat_ids = itertools.count(6_100_001)


@pytest.fixture
def new_chat(telegram: FakeBot) -> Callable[..., Chat]:
    """A Telegram chat of a new person: new_chat(language_code)."""

    def start(language_code: str | None = "uk") -> Chat:
        return Chat(telegram, next(_chat_ids), language_code)

    return start


@pytest.fixture
def widget(stack) -> Iterator[Callable[..., WidgetClient]]:
    """Opens widget conversations: widget(lang="pl"); closed after the test."""
    opened: list[WidgetClient] = []

    def open_widget(lang: str = "uk", session: str | None = None) -> WidgetClient:
        opened.append(WidgetClient(stack.ports.channels_url, lang, session))
        return opened[-1]

    yield open_widget
    for each in opened:
        each.close()
