"""The channel service's store on a database the test names, migrated as the service does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from channels.app import _MIGRATION_LOCK_ID, MIGRATIONS
from channels.store import Store
from common.db import make_engine, make_session_factory, upgrade_with_alembic


@contextlib.contextmanager
def migrated_store(url: str) -> Iterator[Store]:
    engine = make_engine(url)
    upgrade_with_alembic(engine, MIGRATIONS, _MIGRATION_LOCK_ID)
    try:
        yield Store(make_session_factory(engine))
    finally:
        engine.dispose()
