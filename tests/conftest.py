"""Fixtures several suites share: the bot's domain as the action server gets it; the local
Telegram Bot API server and the stack's bot as Telegram sees it (the suite's own conftest provides
`stack`, started with tests/support/stack.py, and may name another `telegram_token`).

Imports are inside the fixtures: the components' suite runs in the Rasa environment, which has
none of the channel service's libraries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.telegram_api import FakeBot, FakeBotApi


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The domain as the action server receives it (its responses)."""
    from tests.support.responses import domain_responses

    return {"responses": domain_responses()}


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    """The local Telegram Bot API server (any bot, by its token)."""
    from tests.support.telegram_api import FakeBotApi

    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def telegram_token() -> str:
    return "7000000001:stack-polling-token"


@pytest.fixture
def telegram(stack: Any, bot_api: FakeBotApi, telegram_token: str) -> Iterator[FakeBot]:
    """The stack's Telegram bot as Telegram sees it, once it polls; a test's injected failures end with it."""
    from tests.support.waiting import wait_for

    bot = bot_api.bot(telegram_token)
    wait_for(lambda: bot.calls_of("getUpdates"), 60, "the channel service to poll Telegram")
    yield bot
    bot.stop_failing()
