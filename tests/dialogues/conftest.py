"""The bot's services (backend, action server, Rasa) on free ports, with databases of their own."""

from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import stack_for_tests

# The helpdesk always open, so that what a handoff answers does not depend on the hour.
ALWAYS_OPEN = {"HELPDESK_DAYS": "0-6", "HELPDESK_HOURS": "00:00-23:59:59"}


@pytest.fixture(scope="session")
def rasa(tmp_path_factory) -> Iterator[httpx.Client]:
    with (
        stack_for_tests(tmp_path_factory, only=("backend", "actions", "rasa"), env=ALWAYS_OPEN) as stack,
        httpx.Client(base_url=stack.ports.rasa_url, timeout=30) as client,
    ):
        yield client
