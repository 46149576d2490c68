"""The masking tracker store on PostgreSQL (TRACKER_DATABASE_URL; `make test-faults` makes one with
scripts/ci_postgres.sh): a forget that comes while a turn's events are being written waits for
them and deletes them too, so nothing of the person is left; the conversation kept in memory is
what the database holds.

Run from bot/ in the Rasa environment; `make test-components` leaves this folder out (no
PostgreSQL in `make check`)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
import tracker_admin
from masking_tracker_store import MaskingSQLTrackerStore
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import EventVerbosity
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from tests.support.waiting import wait_for

DOMAIN = Domain.from_dict({"slots": {"guide": {"type": "text", "mappings": [{"type": "custom"}]}}})


@pytest.fixture
def url() -> str:
    """The database, emptied; in the URL form of Rasa's driver (psycopg2)."""
    found = make_url(os.environ["TRACKER_DATABASE_URL"]).set(drivername="postgresql")
    engine = create_engine(found)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events, tracker_deletions"))
    engine.dispose()
    return found.render_as_string(hide_password=False)


@pytest.fixture
def store(url) -> MaskingSQLTrackerStore:
    parts = make_url(url)
    return MaskingSQLTrackerStore(
        domain=DOMAIN,
        dialect="postgresql",
        host=parts.host,
        port=parts.port,
        db=parts.database,
        username=parts.username,
        password=parts.password,
    )


def take_a_turn(store: MaskingSQLTrackerStore, sender: str, text: str) -> None:
    wrapped = FailSafeTrackerStore(store)
    tracker = asyncio.run(wrapped.get_or_create_tracker(sender, append_action_listen=False))
    for event_ in a_turn(text):
        tracker.update(event_)
    asyncio.run(wrapped.save(tracker))


def a_turn(text: str) -> list:
    parse = {"text": text, "intent": {"name": "greet", "confidence": 1.0}, "entities": []}
    return [
        UserUttered(text, parse["intent"], [], parse),
        BotUttered("hello"),
        ActionExecuted("action_listen"),
    ]


def rows_of(url: str, sender: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender})
        count = found.scalar()
    engine.dispose()
    return count


def waiting_for_a_lock(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        count = connection.execute(text(query)).scalar()
    engine.dispose()
    return count


def users(store: MaskingSQLTrackerStore, sender: str) -> list[str]:
    tracker = asyncio.run(store.retrieve(sender))
    return [e["text"] for e in tracker.current_state(EventVerbosity.ALL)["events"] if e["event"] == "user"]


def test_a_forget_during_the_write_of_a_turn_waits_and_deletes_it_too(url, store):
    take_a_turn(store, "web-1", "hello")
    take_a_turn(store, "web-1", "my PESEL is 85070312345")
    turn = asyncio.run(store.retrieve("web-1"))
    for event_ in a_turn("and my e-mail is olena@example.org"):
        turn.update(event_)

    inserted, go_on = threading.Event(), threading.Event()

    def hold_after_the_insert(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO events") and not inserted.is_set():
            inserted.set()
            go_on.wait(60)

    event.listen(store.engine, "after_cursor_execute", hold_after_the_insert)
    saving = threading.Thread(target=lambda: asyncio.run(store.save(turn)))
    saving.start()
    assert inserted.wait(60)
    forgetting = threading.Thread(target=tracker_admin.forget, args=(url, "web-1"))
    forgetting.start()
    wait_for(lambda: waiting_for_a_lock(url), 30, "the forget to wait for the turn's write")
    go_on.set()
    saving.join(60)
    forgetting.join(60)
    event.remove(store.engine, "after_cursor_execute", hold_after_the_insert)

    assert rows_of(url, "web-1") == 0
    assert asyncio.run(store.retrieve("web-1")) is None
    take_a_turn(store, "web-1", "starting afresh")
    assert users(store, "web-1") == ["starting afresh"]


def test_a_turn_that_began_before_a_forget_writes_nothing(url, store):
    take_a_turn(store, "web-1", "hello")
    turn = asyncio.run(store.retrieve("web-1"))
    tracker_admin.forget(url, "web-1")
    for event_ in a_turn("my PESEL is 85070312345"):
        turn.update(event_)
    asyncio.run(store.save(turn))
    assert rows_of(url, "web-1") == 0


def test_the_conversation_in_memory_is_what_the_database_holds(url, store):
    for number in range(3):
        take_a_turn(store, "web-1", f"message {number}")
    other = MaskingSQLTrackerStore(domain=DOMAIN, dialect="postgresql", host=url)
    take_a_turn(other, "web-1", "elsewhere")
    take_a_turn(store, "web-1", "back")
    assert users(store, "web-1") == ["message 0", "message 1", "message 2", "elsewhere", "back"]
    assert asyncio.run(store.retrieve("web-1")).current_state(EventVerbosity.ALL) == asyncio.run(
        other.retrieve("web-1")
    ).current_state(EventVerbosity.ALL)
