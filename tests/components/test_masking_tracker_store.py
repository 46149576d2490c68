"""The masking tracker store on its own (Rasa environment): what reaches the database, and what
the next turn reads back."""

import asyncio
import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from masking_tracker_store import MaskingSQLTrackerStore, masked_event
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

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
