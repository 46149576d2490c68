"""Fixtures of the channel tests: the whole stack (backend with demo data, action server, Rasa
with the trained model, channel service) on test ports, with databases of their own."""

from collections.abc import Iterator

import pytest

from scripts.stack import Databases, Ports, Stack, running_stack

PORTS = Ports(rasa=5305, actions=5355, backend=8301, channels=8300)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    databases = Databases(folder=tmp_path_factory.mktemp("databases"), backend_url=None, channels_url=None)
    with running_stack(PORTS, databases=databases) as stack:
        yield stack
