"""Rasa's SQL tracker store with personal data masked before anything is written.

Rasa Open Source keeps every user message, every entity and every slot value as it was. This
store writes them with PESEL numbers, e-mail addresses and phone numbers masked (the policy of
common/pii.py for stored analytics): user texts and their parse data, the values of personal slots and bot
texts. A turn still works on the raw values: Rasa saves the tracker once the turn is over, and
the next turn reads the masked record back, so an action that needs a value on a later turn
keeps a reference instead (the backend's verification id, a sealed username: actions/sealing.py).

It also puts the masking filter on every log handler of the Rasa process, where Rasa's debug
log prints user texts and slot values.

endpoints.yml: `tracker_store: {type: masking_tracker_store.MaskingSQLTrackerStore, dialect: …}`
takes every setting of Rasa's SQLTrackerStore (SQLite or PostgreSQL alike).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

# Rasa puts only its working directory (bot/) on sys.path; the masking rules live one level up.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from common.logs import mask_every_handler  # noqa: E402
from common.pii import for_analytics  # noqa: E402

# Slots that may hold what a person typed: masked whatever their value (other slots hold ids,
# positions and flags, which masking could corrupt: a verification id may contain a digit run).
PERSONAL_SLOTS = frozenset({"pesel", "email", "username", "verification_code"})
PERSONAL_ENTITIES = frozenset({"pesel", "email"})


def masked_event(data: dict[str, Any]) -> dict[str, Any]:
    """An event as Rasa serialises it (Event.as_dict()), with personal data masked."""
    kind = data.get("event")
    if kind == "user":
        return _masked_user_event(data)
    if kind == "bot" and isinstance(data.get("text"), str):
        return {**data, "text": for_analytics(data["text"])}
    if kind == "slot" and data.get("name") in PERSONAL_SLOTS:
        return {**data, "value": masked_values(data.get("value"))}
    if kind == "entities":
        return {**data, "entities": _masked_entities(data.get("entities"))}
    return data


def masked_values(value: Any) -> Any:
    """Every string inside `value` (lists and dicts included) masked."""
    if isinstance(value, str):
        return for_analytics(value)
    if isinstance(value, list):
        return [masked_values(item) for item in value]
    if isinstance(value, dict):
        return {key: masked_values(item) for key, item in value.items()}
    return value


def _masked_user_event(data: dict[str, Any]) -> dict[str, Any]:
    masked = _with_masked(data, "text", "metadata")
    if isinstance(data.get("parse_data"), dict):
        parse = _with_masked(data["parse_data"], "text", "metadata")
        if "entities" in parse:
            parse["entities"] = _masked_entities(parse["entities"])
        masked["parse_data"] = parse
    return masked


def _masked_entities(entities: Any) -> Any:
    if not isinstance(entities, list):
        return entities
    return [_masked_entity(e) if isinstance(e, dict) else e for e in entities]


def _masked_entity(entity: dict[str, Any]) -> dict[str, Any]:
    masked = _with_masked(entity, "value", "text")
    if entity.get("entity") in PERSONAL_ENTITIES and "value" in entity:
        # The whole value, whatever its shape: the model may take fragments ("600" of a phone
        # number) for a PESEL, which no pattern would recognise.
        masked["value"] = f"<{entity['entity']}>"
    return masked


def _with_masked(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of `data` with the values of those of `keys` it has masked."""
    return {key: masked_values(value) if key in keys else value for key, value in data.items()}


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose new events are masked on their way to the database."""

    def __init__(self, *args: Any, event_broker: Any = None, **kwargs: Any) -> None:
        if event_broker is not None:
            # Rasa streams the unmasked events to a broker before saving them.
            raise ValueError("MaskingSQLTrackerStore: an event broker would receive unmasked events")
        mask_every_handler()
        super().__init__(*args, **kwargs)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        # SQLTrackerStore.save() serialises exactly these events (the ones not stored yet).
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(masked_event(event.as_dict()))
