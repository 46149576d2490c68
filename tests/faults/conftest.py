"""Fixtures of the fault tests: the whole stack as real processes (backend with demo data, action
server, Rasa with the trained model and its SQL tracker store, channel service with Telegram
against the local Bot API server (tests/conftest.py)), on free ports and databases of their own.

The channel service keeps its data in PostgreSQL (scripts/ci_postgres.sh installs and starts it;
FAULTS_DATABASE_URL names another database) and reaches both PostgreSQL and Rasa through TCP
proxies the tests control: cutting the first makes the database unavailable, holding the second
keeps a turn in flight. Tests that stop a service start it again before they end, so one stack
serves the session (Rasa alone takes a minute or two to load its model on two cores).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from channels.store import Store
from common.db import make_engine
from common.dev import REPO_ROOT
from devstack import LocalStack, Ports, free_port
from tests.support.stack import stack_for_tests, telegram_env
from tests.support.store import migrated_store
from tests.support.tcp_proxy import TcpProxy
from tests.support.widget import WidgetClient

# Kept messages are tried again every second here (3 s by default), to keep the tests short.
KEPT_RETRY_SECONDS = "1"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL database of these tests only, emptied at the start of the session."""
    url = (
        os.environ.get("FAULTS_DATABASE_URL")
        or subprocess.run(
            [str(REPO_ROOT / "scripts" / "ci_postgres.sh")],
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
def telegram_token() -> str:
    return "7000000042:faults-polling-token"


@pytest.fixture(scope="session")
def ports() -> Ports:
    return Ports.free()


@pytest.fixture(scope="session")
def db_proxy(postgres_url) -> Iterator[TcpProxy]:
    with TcpProxy(free_port(), make_url(postgres_url).port or 5432) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def rasa_proxy(ports) -> Iterator[TcpProxy]:
    with TcpProxy(free_port(), ports.rasa) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory, ports, postgres_url, db_proxy, rasa_proxy, bot_api, telegram_token
) -> Iterator[LocalStack]:
    proxied_db = make_url(postgres_url).set(host="127.0.0.1", port=db_proxy.port)
    channels_env = {
        **telegram_env(bot_api, telegram_token),
        "CHANNELS_DATABASE_URL": proxied_db.render_as_string(hide_password=False),
        "RASA_URL": f"http://127.0.0.1:{rasa_proxy.port}",
        "KEPT_RETRY_SECONDS": KEPT_RETRY_SECONDS,
        # A turn cut off by a crash is taken up after twice this and 5 s (65 s by default).
        "RASA_TIMEOUT_SECONDS": "20",
    }
    with stack_for_tests(tmp_path_factory, ports=ports, channels_env=channels_env) as stack:
        yield stack


@pytest.fixture(scope="session")
def store(postgres_url, stack) -> Iterator[Store]:
    """The channel service's database, read directly (not through the proxy a test may cut)."""
    with migrated_store(postgres_url) as store:
        yield store


@pytest.fixture
def widget(stack) -> Iterator[Callable[..., WidgetClient]]:
    """Opens the widget with a browser language, for a new person (a session of their own) or
    for one already there (their `session`)."""
    people: list[WidgetClient] = []

    def open_widget(language: str, session: str | None = None) -> WidgetClient:
        person = WidgetClient(stack.ports.channels_url, language, session)
        people.append(person)
        return person

    yield open_widget
    for person in people:
        person.close()
