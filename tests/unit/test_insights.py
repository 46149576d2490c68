"""The console's failures report (channels/insights.py) on a Rasa-shaped tracker store, read
through bot/tracker_admin.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from channels import insights

# Rasa 3.6's SQLTrackerStore table, as Rasa creates it (rasa/core/tracker_store.py, SQLEvent).
RASA_EVENTS_DDL = """
CREATE TABLE events (
    id INTEGER NOT NULL PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)
"""


def user_event(
    text: str,
    intent: str,
    confidence: float,
    timestamp: float,
    hint: str | None = "uk",
    detected: str | None = None,
) -> tuple:
    """A user event row the way Rasa writes it: the whole event as JSON in `data`."""
    entities = [{"entity": "language", "role": "detected", "value": detected}] if detected else []
    event = {
        "event": "user",
        "timestamp": timestamp,
        "metadata": {"language": hint, "channel": "web"} if hint else {},
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities,
            "text": text,
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        },
        "input_channel": "rest",
        "message_id": "m",
    }
    return ("web-1", "user", timestamp, intent, None, json.dumps(event))


def tracker_file(folder: Path, rows: list[tuple]) -> str:
    path = folder / "rasa-tracker.db"
    with sqlite3.connect(path) as connection:
        connection.execute(RASA_EVENTS_DDL)
        connection.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    connection.close()
    return f"sqlite:///{path}"


def test_failures_are_grouped_by_masked_normalised_text_and_language(tmp_path):
    url = tracker_file(
        tmp_path,
        [
            user_event("Mój PESEL 85070312345  xyzzy", "nlu_fallback", 0.45, 1000.0, hint="pl"),
            user_event("mój pesel 90021501237 XYZZY", "nlu_fallback", 0.45, 2000.0, hint="pl"),
            user_event("яка погода в києві", "out_of_scope", 0.93, 1500.0, detected="uk"),
            user_event("write to olena@example.org", "faq", 0.41, 1700.0, hint="en"),
            # Understood well enough: not a failure.
            user_event("що таке pesel", "faq", 0.97, 1800.0),
            user_event("/affirm", "affirm", 1.0, 1900.0),
        ],
    )

    found = insights.failures(url)

    assert [(f.text, f.language, f.count) for f in found] == [
        ("mój pesel <pesel> xyzzy", "pl", 2),
        ("write to <email>", "en", 1),
        ("яка погода в києві", "uk", 1),
    ]
    first = found[0]
    assert first.last_seen.timestamp() == 2000.0
    assert (first.intent, first.confidence) == ("nlu_fallback", 0.45)
    assert "85070312345" not in json.dumps([f.as_json() for f in found])


def test_the_detected_language_wins_over_the_channel_hint_and_counts_apart(tmp_path):
    url = tracker_file(
        tmp_path,
        [
            user_event("blah blah", "nlu_fallback", 0.3, 1.0, hint="uk", detected="en"),
            user_event("blah blah", "nlu_fallback", 0.3, 2.0, hint="uk"),
            user_event("blah blah", "nlu_fallback", 0.3, 3.0, hint=None),
        ],
    )

    found = insights.failures(url)

    assert sorted((f.language or "", f.count) for f in found) == [("", 1), ("en", 1), ("uk", 1)]


def test_the_confidence_threshold_decides_what_is_unsure(tmp_path):
    url = tracker_file(
        tmp_path,
        [
            user_event("hmm one", "greet", 0.59, 1.0),
            user_event("hmm two", "greet", 0.6, 2.0),
        ],
    )

    assert [f.text for f in insights.failures(url)] == ["hmm one"]
    assert [f.text for f in insights.failures(url, threshold=0.7)] == ["hmm two", "hmm one"]


def test_other_events_and_unparsed_handoff_messages_are_not_failures(tmp_path):
    handoff_message = {"event": "user", "text": "gdzie jest urząd?", "metadata": {"handoff": True}}
    bot = {"event": "bot", "text": "Sorry, I did not get that.", "metadata": {}}
    url = tracker_file(
        tmp_path,
        [
            ("web-1", "user", 1.0, None, None, json.dumps(handoff_message)),
            ("web-1", "bot", 2.0, None, None, json.dumps(bot)),
            ("web-1", "action", 3.0, None, "action_default_fallback", json.dumps({"event": "action"})),
        ],
    )

    assert insights.failures(url) == []


def test_a_missing_tracker_store_is_an_empty_report_and_is_not_created(tmp_path):
    path = tmp_path / "not-yet" / "rasa-tracker.db"

    assert insights.failures(f"sqlite:///{path}") == []
    assert not path.exists()


def test_a_tracker_store_without_its_table_yet_is_an_empty_report(tmp_path):
    path = tmp_path / "rasa-tracker.db"
    sqlite3.connect(path).close()

    assert insights.failures(f"sqlite:///{path}") == []
