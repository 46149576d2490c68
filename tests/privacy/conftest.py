"""Fixtures of the personal-data tests: the whole stack on free ports and databases of its own,
every service logging at debug level (where Rasa prints user texts and slot values), and a person
in the website widget."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devstack import LocalStack
from tests.support.stack import stack_for_tests
from tests.support.widget import WidgetClient

DEBUG_LOGS = {"LOG_LEVEL": "DEBUG", "BACKEND_LOG_LEVEL": "debug", "CHANNELS_LOG_LEVEL": "debug"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    with stack_for_tests(tmp_path_factory, env=DEBUG_LOGS) as stack:
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
