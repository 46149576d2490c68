"""Fixtures of the fault tests: the whole stack as real processes (backend with demo data, action
server, Rasa with the trained model and its SQL tracker store, channel service with Telegram
against the local Bot API server of tests/channels), on ports and databases of their own.

The channel service keeps its data in PostgreSQL (scripts/ci_postgres.sh installs and starts it;
FAULTS_DATABASE_URL names another database) and reaches both PostgreSQL and Rasa through TCP
proxies the tests control: cutting the first makes the database unavailable, holding the second
keeps a turn in flight. Tests that stop a service start it again before they end, so one stack
serves the session (Rasa alone takes a minute or two to load its model on two cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy
from widget_client import WidgetPerson

from channels.app import _MIGRATION_LOCK_ID, MIGRATIONS
from channels.store import Store
from common.db import make_engine, make_session_factory, upgrade_with_alembic
from devstack.project import Databases, Ports, Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
# The local Bot API server and the Telegram test helpers of tests/channels, reused as they are.
sys.path.insert(0, str(ROOT / "tests" / "channels"))
from fake_bot_api import FakeBot, FakeBotApi, wait_for  # noqa: E402

PORTS = Ports(rasa=5405, actions=5455, backend=8401, channels=8400)
DB_PROXY_PORT, RASA_PROXY_PORT = 8402, 8403
TELEGRAM_TOKEN = "7000000042:faults-polling-token"
# Kept messages are tried again every second here (3 s by default), to keep the tests short.
KEPT_RETRY_SECONDS = "1"
STACK_TIMEOUT = 480


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL database of these tests only, emptied at the start of the session."""
    url = (
        os.environ.get("FAULTS_DATABASE_URL")
        or subprocess.run(
            [str(ROOT / "scripts" / "ci_postgres.sh")],
            env={**os.environ, "PG_TEST_DB": "onboarding_faults"},
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout.strip()
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db_proxy(postgres_url) -> Iterator[TcpProxy]:
    with TcpProxy(DB_PROXY_PORT, make_url(postgres_url).port or 5432) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def rasa_proxy() -> Iterator[TcpProxy]:
    with TcpProxy(RASA_PROXY_PORT, PORTS.rasa) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def stack(tmp_path_factory, postgres_url, db_proxy, rasa_proxy, bot_api) -> Iterator[Stack]:
    proxied_db = make_url(postgres_url).set(host="127.0.0.1", port=DB_PROXY_PORT)
    bot_api.bot(TELEGRAM_TOKEN)
    channels_env = {
        "CHANNELS_DATABASE_URL": proxied_db.render_as_string(hide_password=False),
        "RASA_URL": f"http://127.0.0.1:{RASA_PROXY_PORT}",
        "KEPT_RETRY_SECONDS": KEPT_RETRY_SECONDS,
        # A turn cut off by a crash is taken up after twice this and 5 s (65 s by default).
        "RASA_TIMEOUT_SECONDS": "20",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_BASE_URL": bot_api.base_url,
        "TELEGRAM_BASE_FILE_URL": bot_api.base_file_url,
    }
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    # Generous: Rasa loads its model in one to three minutes on two busy cores.
    with running_stack(PORTS, STACK_TIMEOUT, databases, channels_env) as stack:
        yield stack


@pytest.fixture
def telegram(stack, bot_api) -> Iterator[FakeBot]:
    """The stack's Telegram bot as Telegram sees it, once it polls."""
    bot = bot_api.bot(TELEGRAM_TOKEN)
    wait_for(lambda: bot.calls_of("getUpdates"), 60, "the channel service to poll Telegram")
    yield bot
    bot.stop_failing()


@pytest.fixture(scope="session")
def store(postgres_url, stack) -> Iterator[Store]:
    """The channel service's database, read directly (not through the proxy a test may cut)."""
    engine = make_engine(postgres_url)
    upgrade_with_alembic(engine, MIGRATIONS, _MIGRATION_LOCK_ID)
    yield Store(make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def widget(stack) -> Iterator[Callable[[str], WidgetPerson]]:
    """Opens the widget for a new person (a session of their own) with a browser language."""
    people: list[WidgetPerson] = []

    def open_widget(language: str) -> WidgetPerson:
        person = WidgetPerson(stack.ports.channels_url, language)
        person.connect()
        people.append(person)
        return person

    yield open_widget
    for person in people:
        person.close()
