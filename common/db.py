"""Engines, sessions and migrations: SQLite by default, PostgreSQL (psycopg 3) when the URL says so."""

import functools
import logging
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
# How long a database call waits for the database to come back before it fails.
OUTAGE_SECONDS = 15.0


def make_engine(url: str, ping: bool = True, pool_size: int = 5) -> Engine:
    """An engine with `pool_size` connections kept open, whose pool replaces, on PostgreSQL, a
    connection the database dropped (a restart, a failover, a cut link) before handing it out:
    found by a round trip on every checkout (`ping`, SQLAlchemy's pool_pre_ping), or by its socket
    alone, for a service whose many short calls each paid that round trip (the channel service:
    about 1 ms of CPU per person's message)."""
    # hide_parameters: statement values (PESELs, codes, names) stay out of SQL logs and error messages.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=ping, hide_parameters=True, pool_size=pool_size)
        if not ping:
            event.listen(engine, "checkout", _drop_if_hung_up)
        return engine
    # A "file:…?mode=ro" URI names an existing file to read; only a plain path may need its folder.
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Request handlers and the delivery worker use the connection pool from different threads.
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _drop_if_hung_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """An idle connection has nothing to read unless the database hung up (closed the socket, or
    sent its "terminating connection" error first): then it and all older ones are replaced."""
    poller = select.poll()  # not select.select: a busy process has descriptors beyond its limit
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise InvalidatePoolError("the database closed the connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker read the outbox while a request writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched: Session.execute is typed as returning a Result,
    and for those statements it is a CursorResult, which counts them."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_with_alembic(engine: Engine, script_location: Path, lock_id: int) -> None:
    """Upgrade to the newest migration. On PostgreSQL, instances starting together take turns
    (an advisory lock keyed by `lock_id`, one per service) instead of racing to create tables."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class DatabaseUnavailable(Exception):
    """The database stayed unreachable for OUTAGE_SECONDS: longer than a restart or a failover.
    Its cause is the last error; nothing of the call was written."""


def outlasting_outages(call: Callable[P, R]) -> Callable[P, R]:
    """Runs a database call (one session, one transaction) again while the database is briefly
    unreachable (a restart, a failover, a dropped connection), for up to OUTAGE_SECONDS; then
    raises DatabaseUnavailable, which callers can tell apart from a bug.

    The pool drops dead connections (pool_pre_ping on PostgreSQL), so a new try gets a new one. A
    write is tried again only when it failed: a commit whose acknowledgement alone was lost would
    be written twice, a window of microseconds that this accepts rather than losing the message."""

    @functools.wraps(call)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + OUTAGE_SECONDS
        delay = 0.2
        while True:
            try:
                return call(*args, **kwargs)
            except DBAPIError as error:
                unreachable = (
                    isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated
                )
                if not unreachable:
                    raise
                reason = type(error.orig).__name__
                left = deadline - time.monotonic()
                if left <= 0:
                    message = f"the database was unreachable for {OUTAGE_SECONDS:.0f} s ({reason})"
                    raise DatabaseUnavailable(message) from error
                logger.warning("database unreachable (%s); trying again", reason)
                time.sleep(min(delay, left))  # the last try at the deadline
                delay = min(delay * 2, 2.0)

    return retrying
