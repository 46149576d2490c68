"""What the fault tests check afterwards: Rasa's tracker and the channel service's stored messages."""

from __future__ import annotations

from typing import Any

from channels.kept import MESSAGE_ID
from channels.store import Store


def user_events_of(tracker_json: dict[str, Any], message_id: int) -> list[dict[str, Any]]:
    """The tracker's user events carrying the channel service's message id."""
    return [
        event
        for event in tracker_json["events"]
        if event["event"] == "user" and (event.get("metadata") or {}).get(MESSAGE_ID) == message_id
    ]


def transcript(store: Store, conversation_id: str) -> list[tuple[str, str]]:
    """(author, text) of every stored message, in order."""
    return [(m.author, m.text) for m in store.messages(conversation_id)]
