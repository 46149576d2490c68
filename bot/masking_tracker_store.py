"""Rasa's SQL tracker store with personal data masked before anything is written, and each
conversation kept in memory, so that a message costs the same at turn 300 as at turn 10.

Masking. Rasa Open Source keeps every user message, every entity and every slot value as it was.
This store writes them with PESEL numbers, e-mail addresses and phone numbers masked (the policy
of common/pii.py for stored analytics): user texts and their parse data, the values of personal
slots and bot texts. A turn still works on the raw values: Rasa saves the tracker once the turn is
over, and the next turn reads the masked record back, so an action that needs a value on a later
turn keeps a reference instead (the backend's verification id, a sealed username:
actions/sealing.py). It also puts the masking filter on every log handler of the Rasa process,
where Rasa's debug log prints user texts and slot values.

Memory. Rasa 3.6's SQLTrackerStore reads every event of the session and replays it on each
message, and counts the stored events again on each save: at turn 300 of one conversation that
was 45 % of Rasa's CPU per message (py-spy; bench/turns.py). This store keeps the tracker of each
conversation it served, masked, exactly as a reload from the database would build it (the next
turn reads the masked record, as before), and a turn writes only the events it added. Each
retrieve checks with one indexed query that the database still holds what the memory holds: the
sender's newest event (another Rasa instance wrote, e.g. after the conversation moved) and the
deletion marks tracker_admin.py leaves (a forget, a retention purge); if not, the conversation
is read again, so deleted events never come back. Memory is bounded: the least recently used
conversations go beyond `cached_events` events in all (endpoints.yml; default CACHED_EVENTS).
The channel service sends every message of a conversation to the same Rasa instance
(deploy/README.md), where its tracker stays in memory.

A forget during a turn. tracker_admin.forget deletes a conversation's events and marks it in one
transaction; a turn that began before (its tracker read before the mark) writes nothing. The
save and the forget exclude each other: a PostgreSQL advisory lock, SQLite's database lock (the
save writes first, then looks for the mark).

endpoints.yml: `tracker_store: {type: masking_tracker_store.MaskingSQLTrackerStore, dialect: …}`
takes every setting of Rasa's SQLTrackerStore (SQLite or PostgreSQL only, for the lock).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import rasa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError

# Rasa puts only its working directory (bot/) on sys.path; the masking rules live one level up.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from incremental_tracker import clone  # noqa: E402
from rasa_internals import WRITTEN_FOR, check  # noqa: E402
from tracker_admin import (  # noqa: E402
    create_store_tables,
    deletions,
    lock_sender,
    sender_key,
    sqlite_for_turns,
)

from common.logs import mask_every_handler  # noqa: E402
from common.pii import for_analytics  # noqa: E402

logger = logging.getLogger(__name__)

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


# In memory, the least recently used conversations go beyond this many events in all (a 300-turn
# conversation has about 2 400; an event takes about 3 kB in memory here).
CACHED_EVENTS = 100_000
# A conversation unused for this long is read again (the deletion marks are kept for a day).
IDLE_SECONDS = 3600.0
# A tracker retrieve() handed out remembers what it was copied from here.
_BASE = "_masking_store_base"
# What this module relies on in Rasa's tracker stores, with its parameters in WRITTEN_FOR.
RELIED_ON = {
    "SQLTrackerStore.retrieve": ["self", "sender_id"],
    "SQLTrackerStore.save": ["self", "tracker"],
    "SQLTrackerStore._additional_events": ["self", "session", "tracker"],
    "SQLTrackerStore.session_scope": ["self"],
    "TrackerStore.stream_events": ["self", "tracker"],
}
EVENT_COLUMNS = {"id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"}


def check_rasa(version: str, store: type[SQLTrackerStore] = SQLTrackerStore) -> None:
    """Raises RasaVersionMismatch unless this is the Rasa the store was written for."""
    owners = {"SQLTrackerStore": store, "TrackerStore": TrackerStore}
    found = {name: getattr(owners[name.split(".")[0]], name.split(".")[1], None) for name in RELIED_ON}
    columns = set(store.SQLEvent.__table__.columns.keys())
    other = [] if columns == EVENT_COLUMNS else [f"its events table has the columns {sorted(columns)}"]
    what = f"bot/masking_tracker_store.py relies on the SQL tracker store of Rasa {WRITTEN_FOR}"
    check(version, what, RELIED_ON, found, other)


check_rasa(rasa.__version__)


@dataclass
class _Entry:
    """A conversation in memory: its tracker as a reload from the database would build it."""

    tracker: DialogueStateTracker
    newest: int  # the id of the sender's newest event in the database (0: none)
    epoch: int  # the newest deletion mark seen (0: none)
    session_start: float | None  # Rasa reads the events from the latest session start on
    used: float  # time.monotonic()


@dataclass(frozen=True)
class _Base:
    """What a tracker was copied from: save() writes its events after the first `stored`."""

    entry: _Entry | None  # None: a new conversation
    stored: int
    last: Event | None  # events[stored - 1]
    newest: int
    epoch: int  # the newest deletion mark before the turn began


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose new events are masked on their way to the database, with the
    conversations it serves kept in memory (the module's docstring says how)."""

    def __init__(
        self, *args: Any, event_broker: Any = None, cached_events: int = CACHED_EVENTS, **kwargs: Any
    ) -> None:
        if event_broker is not None:
            # Rasa streams the unmasked events to a broker before saving them.
            raise ValueError("MaskingSQLTrackerStore: an event broker would receive unmasked events")
        mask_every_handler()
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError("MaskingSQLTrackerStore: SQLite or PostgreSQL only (a turn and a forget lock)")
        if self.engine.dialect.name == "sqlite":
            sqlite_for_turns(self.engine)
        try:
            with self.engine.begin() as connection:
                create_store_tables(connection)
        except (OperationalError, ProgrammingError) as error:
            # As Rasa's own tables: several servers starting at once race, one creates them.
            logger.error(f"Could not create the tracker store's tables: {error}")
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._cached_events = 0
        self._budget = int(cached_events)
        # Conversations retrieve() found nothing of, with the newest mark then: Rasa's processor
        # creates their tracker itself (TrackerStore.create_tracker), without a _Base.
        self._absent: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._prepare_statements()

    def _prepare_statements(self) -> None:
        events = self.SQLEvent.__table__
        sender = events.c.sender_id == bindparam("sender")
        newest = select(func.max(events.c.id)).where(sender).scalar_subquery()
        self._insert = insert(events)
        self._newest = select(newest, select(func.max(deletions.c.id)).scalar_subquery())
        self._marked_since = (
            select(func.count())
            .select_from(deletions)
            .where(
                deletions.c.id > bindparam("since"),
                or_(deletions.c.sender_key == bindparam("key"), deletions.c.sender_key.is_(None)),
            )
        )
        forgotten = (
            select(func.count())
            .select_from(deletions)
            .where(deletions.c.id > bindparam("since"), deletions.c.sender_key == bindparam("key"))
        )
        after = select(func.count()).select_from(events).where(sender, events.c.id > bindparam("after"))
        self._after_write = select(forgotten.scalar_subquery(), after.scalar_subquery(), newest)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's latest session, masked: a copy of the one in memory while the
        database holds no other, else read from the database as Rasa does."""
        with self.session_scope() as session:
            newest, epoch = (
                value or 0 for value in session.execute(self._newest, {"sender": sender_id}).one()
            )
            entry = self._checked(session, sender_id, newest, epoch)
        if entry is None:
            tracker = await super().retrieve(sender_id)
            if tracker is None:
                self._drop(sender_id)
                self._absent[sender_id] = (epoch, time.monotonic())
                self._absent.move_to_end(sender_id)
                while len(self._absent) > 1000:
                    self._absent.popitem(last=False)
                return None
            entry = self._remember(sender_id, tracker, newest, epoch)
        copied = clone(entry.tracker)
        last = entry.tracker.events[-1] if entry.tracker.events else None
        copied.__dict__[_BASE] = _Base(entry, len(entry.tracker.events), last, newest, epoch)
        return copied

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Writes the events the turn added, masked, unless the conversation was forgotten since
        the turn began; a tracker that did not come from retrieve() as Rasa's store does."""
        await self.stream_events(tracker)
        base = self._base_of(tracker)
        if base is None:
            self._drop(tracker.sender_id)
            await super().save(tracker)  # the events past the number stored, masked (below)
            return
        new = list(islice(tracker.events, base.stored, None))
        if not new:
            return
        # As SQLTrackerStore.save() serialises them (each masked event made an Event again).
        stored = [Event.from_parameters(masked_event(event.as_dict())).as_dict() for event in new]
        texts = [json.dumps(data) for data in stored]
        with self.session_scope() as session:
            connection = session.connection()
            lock_sender(connection, tracker.sender_id)
            connection.execute(
                self._insert, [_row(tracker.sender_id, d, t) for d, t in zip(stored, texts, strict=True)]
            )
            values = {"since": base.epoch, "key": sender_key(tracker.sender_id), "sender": tracker.sender_id}
            forgotten, written, newest = connection.execute(
                self._after_write, {**values, "after": base.newest}
            ).one()
            if forgotten:
                session.rollback()
                self._drop(tracker.sender_id)
                logger.warning("A turn that began before its conversation was forgotten was not saved.")
                return
            session.commit()
        tracker.__dict__[_BASE] = _Base(
            base.entry, len(tracker.events), tracker.events[-1], newest, base.epoch
        )
        if written == len(texts):
            self._append(tracker.sender_id, base, texts, newest)
        else:  # another instance wrote meanwhile: read it all next time
            self._drop(tracker.sender_id)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        # SQLTrackerStore.save() serialises exactly these events (the ones not stored yet).
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(masked_event(event.as_dict()))

    def _checked(self, session: Any, sender_id: str, newest: int, epoch: int) -> _Entry | None:
        """The conversation in memory, if the database holds nothing it does not."""
        entry = self._cache.get(sender_id)
        if entry is None:
            return None
        now = time.monotonic()
        stale = entry.newest != newest or now - entry.used > IDLE_SECONDS
        if not stale and entry.epoch != epoch:
            marks = session.execute(self._marked_since, {"since": entry.epoch, "key": sender_key(sender_id)})
            stale = marks.scalar() > 0
        if stale:
            self._drop(sender_id)
            return None
        entry.epoch, entry.used = epoch, now
        self._cache.move_to_end(sender_id)
        return entry

    def _base_of(self, tracker: DialogueStateTracker) -> _Base | None:
        """The tracker's _Base if its events still begin with those it was copied with; a new
        conversation's tracker gets one at its first save."""
        base: _Base | None = tracker.__dict__.get(_BASE)
        if base is None:
            absent = self._absent.pop(tracker.sender_id, None)
            if absent is None or time.monotonic() - absent[1] > IDLE_SECONDS:
                return None
            base = tracker.__dict__[_BASE] = _Base(None, 0, None, 0, absent[0])
        if len(tracker.events) < base.stored:
            return None
        if base.stored and tracker.events[base.stored - 1] is not base.last:
            return None
        return base

    def _remember(self, sender_id: str, tracker: DialogueStateTracker, newest: int, epoch: int) -> _Entry:
        starts = [event.timestamp for event in tracker.events if isinstance(event, SessionStarted)]
        entry = _Entry(tracker, newest, epoch, max(starts, default=None), time.monotonic())
        self._drop(sender_id)
        if len(tracker.events) <= self._budget:
            self._cache[sender_id] = entry
            self._cached_events += len(tracker.events)
            self._evict()
        return entry

    def _append(self, sender_id: str, base: _Base, texts: list[str], newest: int) -> None:
        """The saved events on the conversation in memory, as the next reload would read them."""
        entry = self._cache.get(sender_id)
        if entry is None or entry is not base.entry:
            return
        events = [Event.from_parameters(json.loads(text)) for text in texts]
        if (
            entry.newest != base.newest
            or len(entry.tracker.events) != base.stored
            or not all(_in_session(event, entry.session_start) for event in events)
        ):
            self._drop(sender_id)
            return
        for event in events:
            entry.tracker.update(event)
        entry.tracker.applied_events()  # the copies go on from its record of them
        entry.newest = newest
        self._cached_events += len(events)
        self._evict()

    def _drop(self, sender_id: str) -> None:
        entry = self._cache.pop(sender_id, None)
        if entry is not None:
            self._cached_events -= len(entry.tracker.events)

    def _evict(self) -> None:
        while self._cached_events > self._budget and self._cache:
            _, entry = self._cache.popitem(last=False)
            self._cached_events -= len(entry.tracker.events)


def _in_session(event: Event, session_start: float | None) -> bool:
    """Rasa reads a conversation's events from its latest session start on, by timestamp: an
    event that starts a session, or that a reload would leave out, is read from the database."""
    if isinstance(event, SessionStarted) or event.timestamp is None:
        return False
    return session_start is None or event.timestamp >= session_start


def _row(sender_id: str, data: dict[str, Any], text: str) -> dict[str, Any]:
    """A row of `events`, with the columns SQLTrackerStore.save() fills."""
    return {
        "sender_id": sender_id,
        "type_name": data.get("event"),
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": text,
    }
