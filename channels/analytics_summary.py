"""The analytics' summary: per conversation and day, what the console's analytics page needs
(tables analytics_days, analytics_values, analytics_handoffs in channels/models.py), kept in the
channel service's database from its messages and Rasa's tracker events, so that a period's
figures (channels/analytics.py) read narrow rows instead of every message and event.

A refresh looks only at the rows of each source newer than its mark (by id: analytics_sources),
recomputes from all their rows the conversations those rows belong to, then moves the mark. A
recomputation gives the same rows however often it runs, so a row read twice is never counted
twice. Ids may arrive below the mark, and are caught:
- PostgreSQL hands out ids before commit: a transaction still open when a newer row is read
  commits later, below it. Ids missing just below a recent row are kept as `holes` and looked for
  again until HOLE_SECONDS have passed.
- SQLite gives a new row the largest id + 1: once the newest rows are deleted, their ids are
  given again. Deleting therefore goes through `forgetting` and `purging`, which put the mark back
  to the newest row kept and recompute what the deletion touched.

Writers take turns: each transaction that writes the summary first locks the rows of
analytics_sources (a row lock on PostgreSQL, the write lock on SQLite) and recomputes at most
CHUNK conversations, and a refresh moves a mark only if no other writer changed it meanwhile.
So several instances of the service may refresh at once. The service refreshes in the
background (every EVERY seconds) and before it computes a page.

Nothing personal is kept: conversation ids (to recompute and to forget), days, times, counts and
the values the bot records for analytics (bot/actions/feedback.py, walkthrough.py), never a text.

python -m channels.analytics_summary rebuild   # from scratch, e.g. after a store was replaced
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    case,
    delete,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from bot.tracker_admin import events
from bot.tracker_admin import reader as tracker_reader
from channels.models import (
    AnalyticsDay,
    AnalyticsHandoff,
    AnalyticsSource,
    AnalyticsValue,
    Message,
)

# Seconds between the service's background refreshes.
EVERY = 30.0
# How long a missing id may still be committed, and the largest gap that may be open transactions
# (a larger one is deleted rows).
HOLE_SECONDS = 300.0
MAX_HOLE = 1_000
# Conversations per IN (...).
CHUNK = 500
# The slots the bot sets for analytics: a slot event's `action_name` is the slot's name.
SLOTS = ("feedback", "topic", "walkthrough")
ANSWER = "topic"
HANDOFF = "action_handoff"
DID_YOU_MEAN = "action_default_ask_affirmation"
FALLBACK = "nlu_fallback"
# The task intents whose requests are counted (the account forms' too).
TASKS = (
    "get_pesel",
    "get_trusted_profile",
    "ikp_login",
    "forgot_username",
    "forgot_password",
    "check_status",
)
TASK = "task"
# A slot event's value, as SQL text per dialect (the text the page's figures are keyed by).
VALUE_EXPRESSIONS = {"sqlite": "json_extract(data, '$.value')", "postgresql": "((data::json) ->> 'value')"}
# The summary's tables, in the order _Conversation.rows gives their rows.
SUMMARY = (AnalyticsDay, AnalyticsValue, AnalyticsHandoff)
_DAY_SECONDS = 86_400
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class _Source:
    """A table the summary reads: its ids, each row's conversation, which rows count, and which
    rows were written since a time (Unix seconds)."""

    name: str
    id: ColumnElement[int]
    conversation: ColumnElement[str]
    counted: ColumnElement[bool]
    since: Callable[[float], ColumnElement[bool]]


_message = Message.__table__.c
MESSAGES = _Source(
    "messages",
    _message.id,
    _message.conversation_id,
    _message.author == "user",
    lambda moment: _message.created_at >= datetime.fromtimestamp(moment, UTC),
)
EVENTS = _Source(
    "events",
    events.c.id,
    events.c.sender_id,
    or_(
        events.c.action_name.in_((*SLOTS, HANDOFF, DID_YOU_MEAN)),
        events.c.intent_name.in_((*TASKS, FALLBACK)),
    ),
    lambda moment: events.c.timestamp >= moment,
)


@dataclass
class _Mark:
    """How far a source was read: every id up to `last_id` except the holes (id: when noticed).
    `version` changes with every write of the mark: a refresh that read it before another
    writer (a refresh, a deletion) changed it leaves it as that writer left it."""

    last_id: int
    holes: dict[int, float] = field(default_factory=dict)
    version: int = 0

    def lowered(self, newest: int) -> _Mark:
        return _Mark(
            min(self.last_id, newest), {i: t for i, t in self.holes.items() if i <= newest}, self.version
        )


def refresh(channels: Engine, tracker_url: str, stop: threading.Event | None = None) -> int:
    """Finds the conversations with rows in either source that were not read yet and recomputes
    them, CHUNK conversations per transaction (a build from scratch holds SQLite's write lock
    briefly at a time), then moves the marks; returns how many conversations were recomputed.
    Stops early, leaving the marks, when `stop` is set. The tracker store may not exist yet."""
    with _tracker(tracker_url) as tracker:
        with channels.connect() as connection:
            read = _marks(connection)
            changed, mark = _changes(connection, MESSAGES, read[MESSAGES.name])
        marks = {MESSAGES.name: mark}
        if tracker is not None:
            found, marks[EVENTS.name] = _changes(tracker, EVENTS, read[EVENTS.name])
            changed |= found
        done = 0
        for chunk in _chunks(sorted(changed)):
            if stop is not None and stop.is_set():
                return done
            with channels.begin() as connection:
                _lock(connection)
                _recompute(connection, tracker, chunk)
            done += len(chunk)
        moved = {name: mark for name, mark in marks.items() if mark != read[name]}
        if moved:
            with channels.begin() as connection:
                now = _lock(connection)
                _save(connection, {name: mark for name, mark in moved.items() if now[name] == read[name]})
    return done


def rebuild(channels: Engine, tracker_url: str) -> int:
    """Empties the summary and reads both sources from their first row."""
    with channels.begin() as connection:
        _lock(connection)
        for table in SUMMARY:
            connection.execute(delete(table))
        _save(connection, {name: _Mark(0, {}, mark.version) for name, mark in _marks(connection).items()})
    return refresh(channels, tracker_url)


@contextmanager
def forgetting(channels: Engine, tracker_url: str, conversation_id: str) -> Iterator[None]:
    """Around deleting a conversation from both sources: afterwards its summary rows are
    recomputed from what is left (nothing, once the deletion succeeded)."""
    kept = _newest_kept(
        channels,
        tracker_url,
        Message.conversation_id != conversation_id,
        events.c.sender_id != conversation_id,
    )
    try:
        yield
    finally:
        _after_deleting(channels, tracker_url, kept, {conversation_id})


@contextmanager
def purging(channels: Engine, tracker_url: str, before: datetime) -> Iterator[None]:
    """Around deleting both sources' rows older than `before`: afterwards the summary's days
    before its day go, and the conversations of its day (partly deleted) are recomputed."""
    kept = _newest_kept(
        channels, tracker_url, Message.created_at >= before, events.c.timestamp >= before.timestamp()
    )
    try:
        yield
    finally:
        _after_deleting(channels, tracker_url, kept, set(), before.astimezone(UTC).date())


def _newest_kept(
    channels: Engine,
    tracker_url: str,
    kept_message: ColumnElement[bool],
    kept_event: ColumnElement[bool],
) -> dict[str, int]:
    """The newest id of each source that the deletion keeps: no id up to it can be given again."""
    newest = {}
    with channels.connect() as connection:
        newest[MESSAGES.name] = _newest(connection, MESSAGES, kept_message)
    with _tracker(tracker_url) as tracker:
        if tracker is not None:
            newest[EVENTS.name] = _newest(tracker, EVENTS, kept_event)
    return newest


def _newest(connection: Connection, source: _Source, kept: ColumnElement[bool]) -> int:
    # Down the primary key from the newest row: the first one kept ends the walk.
    query = select(source.id).where(kept).order_by(source.id.desc()).limit(1)
    return int(connection.execute(query).scalar() or 0)


def _after_deleting(
    channels: Engine,
    tracker_url: str,
    kept: dict[str, int],
    conversations: set[str],
    first_day: date | None = None,
) -> None:
    with _tracker(tracker_url) as tracker, channels.begin() as connection:
        marks = _lock(connection)
        if connection.dialect.name == "sqlite":
            # Overwrite the deleted rows' bytes (conversation ids) instead of leaving them in free pages.
            connection.exec_driver_sql("PRAGMA secure_delete = ON")
        if first_day is not None:
            for table in SUMMARY:
                connection.execute(delete(table).where(table.day < first_day))
            on_first_day = select(AnalyticsDay.conversation_id).where(AnalyticsDay.day == first_day)
            conversations |= set(connection.execute(on_first_day).scalars())
        _recompute(connection, tracker, conversations)
        _save(connection, {name: mark.lowered(kept.get(name, mark.last_id)) for name, mark in marks.items()})


# Reading the sources


@contextmanager
def _tracker(url: str) -> Iterator[Connection | None]:
    """A read-only connection to Rasa's table, or None while it does not exist."""
    engine = tracker_reader(url)
    if engine is None:
        yield None
        return
    with engine.connect() as connection:
        yield connection if inspect(connection).has_table(events.name) else None


def _marks(connection: Connection) -> dict[str, _Mark]:
    rows = connection.execute(
        select(AnalyticsSource.name, AnalyticsSource.last_id, AnalyticsSource.holes, AnalyticsSource.version)
    )
    return {
        name: _Mark(last, {int(i): float(t) for i, t in holes}, version)
        for name, last, holes, version in rows
    }


def _lock(connection: Connection) -> dict[str, _Mark]:
    """Takes the summary's lock until the transaction ends (an update of the marks' rows: other
    writers wait for it), then reads the marks as they are then."""
    connection.execute(update(AnalyticsSource).values(version=AnalyticsSource.version))
    return _marks(connection)


def _save(connection: Connection, marks: dict[str, _Mark]) -> None:
    for name, mark in marks.items():
        holes = [[i, t] for i, t in sorted(mark.holes.items())]
        connection.execute(
            update(AnalyticsSource)
            .where(AnalyticsSource.name == name)
            .values(last_id=mark.last_id, holes=holes, version=mark.version + 1)
        )


def _changes(connection: Connection, source: _Source, mark: _Mark) -> tuple[set[str], _Mark]:
    """The conversations with counted rows not read yet (newer than the mark, or in its holes),
    and the source's mark once they are recomputed."""
    newest = max(mark.last_id, int(connection.execute(select(func.max(source.id))).scalar() or 0))
    unread = and_(source.id > mark.last_id, source.id <= newest)
    query = select(source.conversation).where(unread, source.counted).distinct()
    changed = set(connection.execute(query).scalars())
    now = time.time()
    holes = {i: t for i, t in mark.holes.items() if now - t < HOLE_SECONDS}
    for chunk in _chunks(sorted(holes)):
        for found, conversation, counted in connection.execute(
            select(source.id, source.conversation, source.counted).where(source.id.in_(chunk))
        ):
            del holes[found]
            if counted:
                changed.add(conversation)
    holes.update(_gaps(connection, source, mark.last_id, newest, now))
    return changed, _Mark(newest, holes, mark.version)


def _gaps(connection: Connection, source: _Source, after: int, newest: int, now: float) -> dict[int, float]:
    """Ids missing in (after, newest] just below a row written in the last HOLE_SECONDS: they may
    belong to transactions still open. Old gaps are deleted rows."""
    span = and_(source.id > after, source.id <= newest)
    if connection.execute(select(func.count(source.id)).where(span)).scalar_one() == newest - after:
        return {}
    query = select(source.id).where(span, source.since(now - HOLE_SECONDS)).order_by(source.id)
    recent = [int(i) for i in connection.execute(query).scalars()]
    if not recent:
        return {}
    below = select(func.max(source.id)).where(source.id > after, source.id < recent[0])
    previous = int(connection.execute(below).scalar() or after)
    holes: dict[int, float] = {}
    for present in recent:
        if present - previous - 1 <= MAX_HOLE:
            holes.update(dict.fromkeys(range(previous + 1, present), now))
        previous = present
    return holes


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# Recomputing conversations


def _recompute(connection: Connection, tracker: Connection | None, conversations: Iterable[str]) -> None:
    """Replaces the summary's rows of these conversations by rows from all their counted rows."""
    for chunk in _chunks(sorted(conversations)):
        found: dict[str, _Conversation] = defaultdict(_Conversation)
        people = (
            select(Message.conversation_id, func.date(Message.created_at), func.count())
            .where(Message.author == "user", Message.conversation_id.in_(chunk))
            .group_by(Message.conversation_id, func.date(Message.created_at))
        )
        for conversation, day, count in connection.execute(people):
            found[conversation].messages[_date(day)] += int(count)
        if tracker is not None:
            value = literal_column(VALUE_EXPRESSIONS[_dialect(tracker)], String)
            query = select(
                events.c.sender_id,
                events.c.timestamp,
                events.c.action_name,
                events.c.intent_name,
                case((events.c.action_name.in_(SLOTS), value)),
            ).where(events.c.sender_id.in_(chunk), EVENTS.counted, events.c.timestamp.is_not(None))
            for sender, moment, action, intent, recorded in tracker.execute(query):
                found[sender].event(float(moment), action, intent, recorded)
        made: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
        for key, conversation in found.items():
            for table, rows in zip(SUMMARY, conversation.rows(key), strict=True):
                made[table] += rows
        for table in SUMMARY:
            connection.execute(delete(table).where(table.conversation_id.in_(chunk)))
            if made[table]:
                connection.execute(insert(table), made[table])


def _dialect(connection: Connection) -> str:
    return "postgresql" if connection.dialect.name == "postgresql" else "sqlite"


def _date(day: date | str) -> date:
    # SQLite's date() gives text, PostgreSQL's a date.
    return day if isinstance(day, date) else date.fromisoformat(day)


def _day_of(moment: float) -> date:
    """The UTC day of a Unix time; floor division of a float is exact, so a period's days hold
    exactly the times from its first midnight up to (not including) the one after it."""
    return _EPOCH + timedelta(days=int(moment // _DAY_SECONDS))


class _Conversation:
    """One conversation's counted rows, gathered, and the summary's rows made from them."""

    def __init__(self) -> None:
        self.messages: Counter[date] = Counter()
        self.fallbacks: Counter[date] = Counter()
        self.did_you_mean: Counter[date] = Counter()
        self.answered: dict[date, float] = {}
        self.failed: dict[date, float] = {}
        self.recorded: dict[tuple[str, date], list[tuple[float, str]]] = defaultdict(list)
        self.handoffs: Counter[tuple[date, float]] = Counter()

    def event(self, moment: float, action: str | None, intent: str | None, value: Any) -> None:
        day = _day_of(moment)
        if action in SLOTS:
            # None (a slot emptied) counts nowhere, as no value the page reads; "" neither.
            self.recorded[(str(action), day)].append((moment, "" if value is None else str(value)))
        if action == ANSWER:
            self.answered[day] = max(moment, self.answered.get(day, moment))
        if action == HANDOFF:
            self.handoffs[(day, moment)] += 1
        if action == HANDOFF or intent == FALLBACK:
            self.failed[day] = max(moment, self.failed.get(day, moment))
        if intent == FALLBACK:
            self.fallbacks[day] += 1
        if action == DID_YOU_MEAN:
            self.did_you_mean[day] += 1
        if intent in TASKS:
            self.recorded[(TASK, day)].append((moment, str(intent)))

    def rows(self, conversation_id: str) -> tuple[list[dict[str, Any]], ...]:
        values = self._values(conversation_id)
        handoffs = [
            {"day": day, "conversation_id": conversation_id, "at": at, "events": count}
            for (day, at), count in self.handoffs.items()
        ]
        return self._days(conversation_id, {row["day"] for row in values}), values, handoffs

    def _days(self, conversation_id: str, recorded: set[date]) -> list[dict[str, Any]]:
        outcomes = self.answered.keys() | self.failed.keys()
        spoken = _following(day for day, count in self.messages.items() if count)
        settled = _following(outcomes)
        every = {*self.messages, *self.fallbacks, *self.did_you_mean, *outcomes, *recorded}
        every |= {day for day, _ in self.handoffs}
        return [
            {
                "day": day,
                "conversation_id": conversation_id,
                "messages": self.messages[day],
                "messages_next": spoken.get(day),
                "fallbacks": self.fallbacks[day],
                "did_you_mean": self.did_you_mean[day],
                "solved": self._solved(day) if day in outcomes else None,
                "solved_next": settled.get(day),
            }
            for day in sorted(every)
        ]

    def _solved(self, day: date) -> bool:
        """Whether the day's last answer came after its last failure (the period's figure takes
        the conversation's last such day: its last answer and failure are that day's)."""
        answered, failed = self.answered.get(day), self.failed.get(day)
        return answered is not None and (failed is None or failed < answered)

    def _values(self, conversation_id: str) -> list[dict[str, Any]]:
        days_of_value: dict[tuple[str, str], set[date]] = defaultdict(set)
        days_of_kind: dict[str, set[date]] = defaultdict(set)
        for (kind, day), seen in self.recorded.items():
            days_of_kind[kind].add(day)
            for _, value in seen:
                days_of_value[(kind, value)].add(day)
        same = {key: _following(days) for key, days in days_of_value.items()}
        of_kind = {kind: _following(days) for kind, days in days_of_kind.items()}
        rows = []
        for (kind, day), seen in self.recorded.items():
            newest = max(moment for moment, _ in seen)
            last = Counter(value for moment, value in seen if moment == newest)
            for value, count in Counter(value for _, value in seen).items():
                rows.append(
                    {
                        "kind": kind,
                        "day": day,
                        "conversation_id": conversation_id,
                        "value": value,
                        "events": count,
                        "next": same[(kind, value)].get(day),
                        "kind_next": of_kind[kind].get(day),
                        "last": last[value],
                    }
                )
        return rows


def _following(days: Iterable[date]) -> dict[date, date]:
    """Each day mapped to the next of them (the last maps to nothing)."""
    ordered = sorted(set(days))
    return dict(zip(ordered, ordered[1:], strict=False)) if len(ordered) > 1 else {}


def main(argv: list[str] | None = None) -> None:
    from channels.config import Settings
    from common.db import make_engine

    parser = argparse.ArgumentParser(prog="python -m channels.analytics_summary")
    parser.add_argument("command", choices=["rebuild"], help="the summary from scratch")
    parser.parse_args(argv)
    settings = Settings()
    engine = make_engine(settings.channels_database_url)
    started = time.perf_counter()
    count = rebuild(engine, settings.rasa_tracker_db_url)
    print(f"{count} conversations summarised in {time.perf_counter() - started:.1f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
