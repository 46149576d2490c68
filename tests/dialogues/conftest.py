"""The bot's services (backend, action server, Rasa) on free ports, with databases of their own."""

from collections.abc import Iterator

import httpx
import pytest

from devstack.project import Databases, Ports, running_stack


@pytest.fixture(scope="session")
def rasa(tmp_path_factory) -> Iterator[httpx.Client]:
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    with pytest.MonkeyPatch.context() as env:
        # The helpdesk always open, so that what a handoff answers does not depend on the hour.
        env.setenv("HELPDESK_DAYS", "0-6")
        env.setenv("HELPDESK_HOURS", "00:00-23:59:59")
        with (
            running_stack(Ports.free(), databases=databases, only=("backend", "actions", "rasa")) as stack,
            httpx.Client(base_url=stack.ports.rasa_url, timeout=30) as client,
        ):
            yield client
