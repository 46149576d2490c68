"""Deleting from Rasa's SQL tracker store (table `events`, written by Rasa): one conversation's
events on a person's request, and every event older than the retention period.

Rasa reads a conversation back from this table on every message, so a deleted conversation
simply starts afresh. A SQLite file that does not exist yet is left alone (Rasa creates it).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    Engine,
    create_engine,
    delete,
    inspect,
    text,
)
from sqlalchemy.engine import make_url

from channels.rasa_events import events


def forget(tracker_url: str, sender_id: str) -> int:
    """Deletes every event of the conversation; returns how many."""
    return _delete(tracker_url, events.c.sender_id == sender_id)


def purge(tracker_url: str, before: datetime) -> int:
    """Deletes the events older than `before` (Rasa's timestamps are Unix seconds); returns how many."""
    return _delete(tracker_url, events.c.timestamp < before.timestamp())


def _delete(tracker_url: str, condition: ColumnElement[bool]) -> int:
    engine = _writer(tracker_url)
    if engine is None:
        return 0
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(events.name):
                return 0
            if engine.dialect.name == "sqlite":
                # Overwrite the deleted rows' bytes instead of leaving them in free pages.
                connection.execute(text("PRAGMA secure_delete = ON"))
            return connection.execute(delete(events).where(condition)).rowcount
    finally:
        engine.dispose()


def _writer(url: str) -> Engine | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, hide_parameters=True)
    if not (parsed.database and Path(parsed.database).is_file()):
        return None
    # Rasa's own file: no pragmas of this project's databases (WAL would stay set on it).
    return create_engine(url, hide_parameters=True, connect_args={"timeout": 30})
