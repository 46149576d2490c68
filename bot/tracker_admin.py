"""Administration of Rasa's SQL tracker store (masking_tracker_store.py beside it): the table
Rasa 3.6's SQLTrackerStore writes, reading it, deleting from it, and creating it.

The channel service imports this module as `bot.tracker_admin` (its environment has SQLAlchemy but
not Rasa) for the console's failure view (channels/insights.py) and for retention and forget
(channels/retention.py); nothing but `create_tables` needs Rasa. Rasa owns the table: the
columns below are the ones read and deleted by (rasa/core/tracker_store.py, SQLEvent).

Creating the tables once, before several Rasa servers start on an empty PostgreSQL database
(they would race to create them and one would fail), with Rasa's Python from bot/:

    cd bot && ../.venv-rasa/bin/python -m tracker_admin ENDPOINTS_FILE

(`make scale-test` does, and so does the Kubernetes Job of deploy/k8s/rasa.yaml.)

Imported by the Rasa environment too (Python 3.10, SQLAlchemy 1.4): nothing newer here.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection, Engine

events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
# Every delete from `events` leaves a mark here in its transaction: a forget its sender's key, a
# purge none. Rasa's tracker store keeps conversations in memory (masking_tracker_store.py): the
# marks tell it what it holds was deleted meanwhile, and a turn that began before a forget of its
# conversation from writing it back. The sender is hashed: the marks outlive the conversation.
deletions = Table(
    "tracker_deletions",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_key", String(64), index=True),
    Column("deleted_at", Float, nullable=False),
    sqlite_autoincrement=True,  # numbers never come back: the store compares them
)
# A turn lasts seconds; a mark older than this is no more use (a cached conversation unused for
# an hour is read again: masking_tracker_store.IDLE_SECONDS).
MARKS_KEPT_SECONDS = 24 * 3600
# The store asks for the newest event of a sender on every message; Rasa indexes only sender_id.
SENDER_INDEX = "ix_events_sender_id_id"


def user_events(tracker_url: str, limit: int) -> list[tuple[float | None, str | None]]:
    """(timestamp, data as JSON) of the newest `limit` user events, newest first; empty while
    Rasa has written nothing (a SQLite file that does not exist yet is not created)."""
    engine = reader(tracker_url)
    if engine is None:
        return []
    query = (
        select(events.c.timestamp, events.c.data)
        .where(events.c.type_name == "user")
        .order_by(events.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        if not inspect(connection).has_table(events.name):
            return []
        return [(timestamp, data) for timestamp, data in connection.execute(query)]


def forget(tracker_url: str, sender_id: str) -> int:
    """Deletes every event of the conversation; returns how many. The mark it leaves makes Rasa
    read the conversation again (it starts afresh) and refuse to save a turn that began before."""
    return _delete(tracker_url, events.c.sender_id == sender_id, sender_id)


def purge(tracker_url: str, before: datetime) -> int:
    """Deletes the events older than `before` (Rasa's timestamps are Unix seconds); returns how many."""
    return _delete(tracker_url, events.c.timestamp < before.timestamp(), None)


def sender_key(sender_id: str) -> str:
    """A conversation in the deletion marks."""
    return hashlib.sha256(sender_id.encode()).hexdigest()


def lock_sender(connection: Connection, sender_id: str) -> None:
    """Until the transaction ends, no other writes or deletes this conversation's events: a
    PostgreSQL advisory lock (SQLite's database lock, taken as each transaction begins, does it
    there: sqlite_for_turns)."""
    if connection.dialect.name == "postgresql":
        digest = hashlib.sha256(f"tracker {sender_id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def sqlite_for_turns(engine: Engine) -> None:
    """Rasa's SQLite file in WAL mode with `synchronous=NORMAL`, every transaction begun with
    `BEGIN IMMEDIATE`. In rollback-journal mode each commit wrote and synced a journal: 20 % of
    Rasa's CPU samples under load (A/B runs with WAL: bench/results/README.md#profile). A commit
    survives the process's crash; a power cut may lose the last ones. IMMEDIATE, because in WAL a
    transaction that read and then writes fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait) when
    another connection wrote meanwhile: a turn's save and a forget wait for each other instead,
    and still exclude each other as lock_sender says."""
    _pragma(engine, "PRAGMA journal_mode=WAL")  # the file keeps it: once, not per connection

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite begins nothing itself: on_begin does
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)


def _pragma(engine: Engine, statement: str) -> None:
    """A statement SQLite runs only outside a transaction, on a connection of its own."""
    raw = engine.raw_connection()
    try:
        raw.cursor().execute(statement)
    finally:
        raw.close()


def create_store_tables(connection: Connection) -> None:
    """What the project adds to Rasa's tables: the deletion marks and the sender's index."""
    deletions.create(connection, checkfirst=True)
    if SENDER_INDEX not in {index["name"] for index in inspect(connection).get_indexes(events.name)}:
        # On a copy of the table: an index on `events` itself would be created with it in tests.
        table = events.to_metadata(MetaData())
        Index(SENDER_INDEX, table.c.sender_id, table.c.id).create(connection)


def create_tables(endpoints_file: str) -> str:
    """Creates the tables of the tracker store `endpoints_file` names (Rasa's own code does, as
    on a server's start); returns the store's class name. Needs Rasa, run from bot/."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    sys.path.insert(0, os.getcwd())  # as `rasa run` does: bot/masking_tracker_store.py
    config = read_endpoint_config(endpoints_file, "tracker_store")
    if config is None:
        raise SystemExit(f"{endpoints_file}: no tracker_store")
    return type(TrackerStore.create(config, Domain.empty())).__name__


def reader(url: str) -> Engine | None:
    """A read-only engine (one per URL); None while its SQLite file does not exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Other databases: read-only by the grants of the configured user.
        return _pooled(url)
    if not parsed.database or not Path(parsed.database).is_file():
        return None
    return _pooled(f"sqlite:///file:{Path(parsed.database).resolve()}?mode=ro&uri=true")


def _delete(tracker_url: str, condition: ColumnElement[bool], sender_id: str | None) -> int:
    """Deletes the events of `condition` (one conversation's: `sender_id`) and marks it. A SQLite
    file that does not exist yet is left alone (Rasa creates it)."""
    engine = _writer(tracker_url)
    if engine is None:
        return 0
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(events.name):
                return 0
            deletions.create(connection, checkfirst=True)  # a tracker store of before the marks
            if sender_id is not None:
                lock_sender(connection, sender_id)
            if engine.dialect.name == "sqlite":
                # Overwrite the deleted rows' bytes instead of leaving them in free pages.
                connection.execute(text("PRAGMA secure_delete = ON"))
            deleted: int = connection.execute(delete(events).where(condition)).rowcount
            now = time.time()
            if sender_id is not None or deleted:
                # A forget is marked even when nothing was stored yet: a first turn may be running.
                key = None if sender_id is None else sender_key(sender_id)
                connection.execute(insert(deletions).values(sender_key=key, deleted_at=now))
            connection.execute(delete(deletions).where(deletions.c.deleted_at < now - MARKS_KEPT_SECONDS))
        if engine.dialect.name == "sqlite" and deleted:
            # The deleted rows' earlier copies leave the write-ahead log: copied into the file
            # (where secure_delete overwrote them), the log emptied.
            _pragma(engine, "PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
    finally:
        engine.dispose()


def _writer(url: str) -> Engine | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, hide_parameters=True)
    if not (parsed.database and Path(parsed.database).is_file()):
        return None
    engine = create_engine(url, hide_parameters=True, connect_args={"timeout": 30})
    sqlite_for_turns(engine)  # as the tracker store has it
    return engine


@cache
def _pooled(url: str) -> Engine:
    # Requests read from worker threads, so a pooled SQLite connection may move between threads.
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"tracker store ready: {create_tables(sys.argv[1])}")
