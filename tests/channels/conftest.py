"""Fixtures of the channel tests: the whole stack (backend with demo data, action server, Rasa
with the trained model, channel service) on test ports, with databases of their own.

The channel service runs its Telegram bot (polling) against a local Bot API server started first."""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from channels.app import _MIGRATION_LOCK_ID, MIGRATIONS
from channels.store import Store
from common.db import make_engine, make_session_factory, upgrade_with_alembic
from devstack.project import Databases, Ports, Stack, running_stack
from fake_bot_api import FakeBot, FakeBotApi, wait_for

# TEST_PORT_OFFSET lets two runs of these tests share a machine.
_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
PORTS = Ports(rasa=5305 + _OFFSET, actions=5355 + _OFFSET, backend=8301 + _OFFSET, channels=8300 + _OFFSET)
CHROMIUM = "/usr/bin/chromium"
TELEGRAM_TOKEN = "7000000001:stack-polling-token"


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    """The local Telegram Bot API server (any bot, by its token)."""
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory, bot_api) -> Iterator[Stack]:
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    bot_api.bot(TELEGRAM_TOKEN)
    telegram = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_BASE_URL": bot_api.base_url,
        "TELEGRAM_BASE_FILE_URL": bot_api.base_file_url,
    }
    with running_stack(PORTS, databases=databases, channels_env=telegram) as stack:
        yield stack


@pytest.fixture
def telegram(stack, bot_api) -> Iterator[FakeBot]:
    """The stack's Telegram bot as Telegram sees it, once it polls; a test's injected failures end with it."""
    bot = bot_api.bot(TELEGRAM_TOKEN)
    wait_for(lambda: bot.calls_of("getUpdates"), 60, "the channel service to poll Telegram")
    yield bot
    bot.stop_failing()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright (`playwright install` cannot download here).

    One per test module: Playwright's sync API keeps an event loop running in this thread while
    it is open, and the other modules' tests call asyncio.run()."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """The channel service's store on a database of the test's own."""
    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    upgrade_with_alembic(engine, MIGRATIONS, _MIGRATION_LOCK_ID)
    yield Store(make_session_factory(engine))
    engine.dispose()
