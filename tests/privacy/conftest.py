"""Fixtures of the personal-data tests: the whole stack on free ports and databases of its own,
every service logging at debug level (where Rasa prints user texts and slot values), and a person
in the website widget. Rasa reaches the action server through a TCP proxy a test may hold: a turn
stays in flight until it releases it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devstack import LocalStack, Ports, free_port
from tests.support.stack import stack_for_tests
from tests.support.tcp_proxy import TcpProxy
from tests.support.widget import WidgetClient

DEBUG_LOGS = {"LOG_LEVEL": "DEBUG", "BACKEND_LOG_LEVEL": "debug", "CHANNELS_LOG_LEVEL": "debug"}


@pytest.fixture(scope="session")
def ports() -> Ports:
    return Ports.free()


@pytest.fixture(scope="session")
def action_proxy(ports) -> Iterator[TcpProxy]:
    with TcpProxy(free_port(), ports.actions) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def stack(tmp_path_factory, ports, action_proxy) -> Iterator[LocalStack]:
    rasa_env = {"ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_proxy.port}/webhook"}
    with stack_for_tests(tmp_path_factory, ports=ports, env=DEBUG_LOGS, rasa_env=rasa_env) as stack:
        yield stack


@pytest.fixture
def widget_user(stack) -> Iterator[Callable[[str], WidgetClient]]:
    users: list[WidgetClient] = []

    def open_widget(language: str = "uk") -> WidgetClient:
        users.append(WidgetClient(stack.ports.channels_url, language))
        return users[-1]

    yield open_widget
    for user in users:
        user.close()
