"""Fixtures of the channel tests: the whole stack (backend with demo data, action server, Rasa
with the trained model, channel service) on free ports, with databases of their own.

The channel service runs its Telegram bot (polling) against the local Bot API server (`bot_api`,
tests/conftest.py) started first."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from channels.store import Store
from devstack import LocalStack
from tests.support.stack import stack_for_tests, telegram_env
from tests.support.store import migrated_store

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def stack(tmp_path_factory, bot_api, telegram_token) -> Iterator[LocalStack]:
    channels_env = telegram_env(bot_api, telegram_token)
    with stack_for_tests(tmp_path_factory, channels_env=channels_env) as stack:
        yield stack


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
    with migrated_store(f"sqlite:///{tmp_path / 'channels.db'}") as store:
        yield store
