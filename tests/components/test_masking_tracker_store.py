"""The masking tracker store on its own (Rasa environment): what reaches the database, what the
next turn reads back, and that a conversation kept in memory is what the database holds."""

import asyncio
import io
import json
import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import tracker_admin
from masking_tracker_store import MaskingSQLTrackerStore, masked_event
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

PESEL, EMAIL, PHONE = "85070312345", "olena.kovalenko@example.org", "+48600100001"
VERIFICATION_ID = "v-123456789012345"  # a digit run that masking would take for a phone number
SLOTS = ("pesel", "email", "username", "verification_id", "guide")
DOMAIN = Domain.from_dict(
    {"slots": {name: {"type": "text", "mappings": [{"type": "custom"}]} for name in SLOTS}}
)


def user_message(text: str, entities: list[dict]) -> UserUttered:
    parse = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": entities}
    return UserUttered(text, parse["intent"], entities, parse, metadata={"channel": "web", "note": text})


@pytest.fixture
def store(tmp_path: Path) -> MaskingSQLTrackerStore:
    return MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))


def stored_rows(store: MaskingSQLTrackerStore) -> list[str]:
    with sqlite3.connect(store.engine.url.database) as db:
        return [data for (data,) in db.execute("SELECT data FROM events ORDER BY id")]


def a_turn() -> list:
    text = f"my PESEL is {PESEL}, mail {EMAIL}, phone {PHONE}"
    entities = [
        {"entity": "pesel", "value": PESEL, "start": 12, "end": 23},
        {"entity": "email", "value": EMAIL},
        {"entity": "pesel", "value": "600"},  # the model's fragment of a phone number
    ]
    return [
        ActionExecuted("action_listen"),
        user_message(text, entities),
        SlotSet("pesel", PESEL),  # as Rasa's slot extraction sets it, before the form's validation
        SlotSet("email", EMAIL),
        SlotSet("username", "olena_k85"),
        SlotSet("verification_id", VERIFICATION_ID),
        SlotSet("guide", "ikp_login"),
        BotUttered(f"Sent to {EMAIL}"),
    ]


def test_nothing_personal_reaches_the_database(store):
    tracker = DialogueStateTracker.from_events("web-1", a_turn(), DOMAIN.slots)
    asyncio.run(store.save(tracker))
    rows = "\n".join(stored_rows(store))
    for raw in (PESEL, EMAIL, PHONE.lstrip("+"), "600100001"):
        assert raw not in rows
    user = json.loads(stored_rows(store)[1])
    assert user["text"] == user["parse_data"]["text"] == "my PESEL is <pesel>, mail <email>, phone <phone>"
    assert [e["value"] for e in user["parse_data"]["entities"]] == ["<pesel>", "<email>", "<pesel>"]
    assert user["metadata"] == {"channel": "web", "note": user["text"]}
    assert VERIFICATION_ID in rows and "olena_k85" in rows and "ikp_login" in rows


def test_the_next_turn_reads_the_masked_record_and_appends_only_its_own_events(store):
    tracker = DialogueStateTracker.from_events("web-1", a_turn(), DOMAIN.slots)
    asyncio.run(store.save(tracker))
    read = asyncio.run(store.retrieve("web-1"))
    assert read.get_slot("pesel") == "<pesel>"
    assert read.get_slot("verification_id") == VERIFICATION_ID
    assert read.latest_message.text == "my PESEL is <pesel>, mail <email>, phone <phone>"
    assert [e["value"] for e in read.latest_message.entities] == ["<pesel>", "<email>", "<pesel>"]
    assert len(read.events) == len(tracker.events)

    read.update(user_message(f"again {PESEL}", []))
    asyncio.run(store.save(read))
    rows = stored_rows(store)
    assert len(rows) == len(tracker.events) + 1
    assert PESEL not in rows[-1] and "again <pesel>" in rows[-1]


def test_events_without_personal_data_are_left_alone():
    action = ActionExecuted("action_listen").as_dict()
    slot = SlotSet("verification_id", VERIFICATION_ID).as_dict()
    assert masked_event(action) == action
    assert masked_event(slot) == slot


def test_log_handlers_of_the_process_mask_personal_data(tmp_path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("rasa.test_masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "logs.db"))
        logger.debug("Received user message '%s'", f"{PESEL} {EMAIL}")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == "Received user message '<pesel> <email>'"


def test_an_event_broker_is_refused(tmp_path):
    with pytest.raises(ValueError, match="event broker"):
        MaskingSQLTrackerStore(
            domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), event_broker=object()
        )


# A conversation in memory (the store's cache) against the database.

GREETING = {"intent": {"name": "greet", "confidence": 1.0}, "entities": []}


def a_user_turn(text: str) -> list:
    return [
        UserUttered(text, GREETING["intent"], [], {**GREETING, "text": text}),
        ActionExecuted("utter_greet"),
        BotUttered(f"hello, {text}"),
        SlotSet("guide", "get_pesel"),
        ActionExecuted("action_listen"),
    ]


def take_a_turn(store: MaskingSQLTrackerStore, sender: str, text: str) -> None:
    """What Rasa's processor does with a message: the tracker read (or made), the turn's events
    added, the tracker saved (Rasa wraps the store in FailSafeTrackerStore)."""
    wrapped = FailSafeTrackerStore(store)
    tracker = asyncio.run(wrapped.get_or_create_tracker(sender, append_action_listen=False))
    for event in a_user_turn(text):
        tracker.update(event)
    asyncio.run(wrapped.save(tracker))


def reads_of_the_database(store, monkeypatch) -> list[str]:
    """The senders whose events the store read from the database (Rasa's code), in order."""
    reads: list[str] = []
    rasa_retrieve = SQLTrackerStore.retrieve

    async def counted(self, sender_id):
        if self is store:
            reads.append(sender_id)
        return await rasa_retrieve(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", counted)
    return reads


def as_read_from_the_database(store: MaskingSQLTrackerStore, sender: str) -> dict | None:
    """The conversation as a store that has nothing in memory builds it."""
    fresh = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=store.engine.url.database)
    tracker = asyncio.run(fresh.retrieve(sender))
    return None if tracker is None else state_of(tracker)


def state_of(tracker: DialogueStateTracker) -> dict:
    return tracker.current_state(EventVerbosity.ALL)


def kept(store: MaskingSQLTrackerStore, sender: str) -> dict | None:
    tracker = asyncio.run(store.retrieve(sender))
    return None if tracker is None else state_of(tracker)


def test_a_conversation_is_read_from_the_database_once_then_kept_as_it_reads(store, monkeypatch):
    reads = reads_of_the_database(store, monkeypatch)
    for number in range(5):
        take_a_turn(store, "web-1", f"message {number} {PESEL}")
    assert reads == ["web-1", "web-1"]  # nothing yet, then the first turn's (a session's start)
    assert kept(store, "web-1") == as_read_from_the_database(store, "web-1")
    tracker = asyncio.run(store.retrieve("web-1"))
    assert tracker.latest_message.text == "message 4 <pesel>" and PESEL not in json.dumps(state_of(tracker))
    assert len(stored_rows(store)) == len(tracker.events) == 25


def test_events_another_instance_wrote_are_read(store):
    take_a_turn(store, "web-1", "first")
    take_a_turn(store, "web-1", "second")  # now in memory
    other = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=store.engine.url.database)
    take_a_turn(other, "web-1", "third, elsewhere")
    running = asyncio.run(store.retrieve("web-1"))
    assert state_of(running) == as_read_from_the_database(store, "web-1")
    take_a_turn(other, "web-1", "fourth, elsewhere, meanwhile")
    for event in a_user_turn("fifth"):
        running.update(event)
    asyncio.run(store.save(running))
    users = [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"]
    assert users == ["first", "second", "third, elsewhere", "fourth, elsewhere, meanwhile", "fifth"]
    assert kept(store, "web-1") == as_read_from_the_database(store, "web-1")


def test_a_new_session_is_read_as_rasa_reads_it(store):
    take_a_turn(store, "web-1", "first")
    take_a_turn(store, "web-1", "second")
    tracker = asyncio.run(store.retrieve("web-1"))
    later = tracker.events[-1].timestamp + 3600
    session_start = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    for event in [*session_start, *a_user_turn("after an hour")]:
        event.timestamp = later
        tracker.update(event)
    asyncio.run(store.save(tracker))
    assert [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"] == ["after an hour"]
    assert kept(store, "web-1") == as_read_from_the_database(store, "web-1")


def test_a_forgotten_conversation_starts_afresh(store):
    for sender in ("web-1", "web-2"):
        take_a_turn(store, sender, "hello")
    assert tracker_admin.forget(f"sqlite:///{store.engine.url.database}", "web-1") == 5
    assert asyncio.run(store.retrieve("web-1")) is None
    take_a_turn(store, "web-1", "hello again")
    assert [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"] == ["hello again"]
    assert kept(store, "web-2") == as_read_from_the_database(store, "web-2")


def test_a_forgotten_conversation_leaves_no_copy_in_the_files(store):
    """SQLite in WAL mode keeps earlier copies of pages in the log: a forget empties it."""
    take_a_turn(store, "web-1", "unforgettable words")
    path = Path(store.engine.url.database)
    with sqlite3.connect(path) as reader:  # an open connection keeps the log from going away
        reader.execute("SELECT count(*) FROM events").fetchone()
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert tracker_admin.forget(f"sqlite:///{path}", "web-1") == 5
        for file in path.parent.glob(f"{path.name}*"):
            assert b"unforgettable" not in file.read_bytes(), file.name


def test_purged_events_are_not_kept(store):
    for text in ("a year ago", "two years ago", "now"):
        take_a_turn(store, "web-1", text)
    with sqlite3.connect(store.engine.url.database) as db:  # the first two turns are old
        db.execute("UPDATE events SET timestamp = timestamp - 365 * 86400 WHERE id <= 10")
    cutoff = datetime.now(timezone.utc) - timedelta(days=90)
    assert tracker_admin.purge(f"sqlite:///{store.engine.url.database}", cutoff) == 10
    assert [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"] == ["now"]
    assert kept(store, "web-1") == as_read_from_the_database(store, "web-1")


def test_a_turn_that_began_before_its_conversation_was_forgotten_writes_nothing(store):
    take_a_turn(store, "web-1", "hello")
    url = f"sqlite:///{store.engine.url.database}"
    for started in (asyncio.run(store.retrieve("web-1")), None):  # a known conversation, a new one
        tracker = started or asyncio.run(
            FailSafeTrackerStore(store).get_or_create_tracker("web-1", None, False)
        )
        tracker_admin.forget(url, "web-1")  # while the turn runs
        for event in a_user_turn(f"my PESEL is {PESEL}"):
            tracker.update(event)
        asyncio.run(store.save(tracker))
        assert stored_rows(store) == []
        assert asyncio.run(store.retrieve("web-1")) is None
    take_a_turn(store, "web-1", "starting afresh")
    assert [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"] == ["starting afresh"]


def test_two_turns_of_one_conversation_at_once_both_write(store):
    take_a_turn(store, "web-1", "hello")
    first, second = (asyncio.run(store.retrieve("web-1")) for _ in range(2))
    for tracker, text in ((first, "one"), (second, "two")):
        for event in a_user_turn(text):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    users = [e["text"] for e in kept(store, "web-1")["events"] if e["event"] == "user"]
    assert users == ["hello", "one", "two"]
    assert kept(store, "web-1") == as_read_from_the_database(store, "web-1")


def test_memory_holds_the_most_recently_used_conversations_up_to_its_size(tmp_path, monkeypatch):
    store = MaskingSQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), cached_events=12
    )
    for sender in ("web-1", "web-2", "web-1"):
        take_a_turn(store, sender, "hello")  # 5 events a turn
    reads = reads_of_the_database(store, monkeypatch)
    for sender in ("web-1", "web-2", "web-2", "web-1"):
        assert kept(store, sender) == as_read_from_the_database(store, sender)
    assert reads == ["web-2", "web-1"]  # web-1 (10 events) made room for web-2 (5), then came back
