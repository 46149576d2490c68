"""Fixtures of the unit tests (everything that runs in this process: no model, no Rasa server,
no browser)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.store import Store
from tests.support.store import migrated_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The channel service's store on a database of the test's own."""
    with migrated_store(f"sqlite:///{tmp_path / 'channels.db'}") as store:
        yield store
