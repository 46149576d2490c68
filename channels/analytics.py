"""The console's analytics: figures for a period from the two stores that exist, by SQL that runs
the same on SQLite and PostgreSQL.

- The channel service's database (conversations, messages): conversations and messages per day by
  language and channel, and when staff first replied after a handoff.
- Rasa's tracker store (table `events`, read only): handoffs, fallbacks, "did you mean", what was
  answered, feedback and the walkthroughs' steps. Those are read from columns Rasa fills for every
  event (`intent_name` of a user message; `action_name`, which holds an action's name and also a
  slot event's slot name) and from the small JSON of the slot events the bot's actions set for this
  (bot/actions/feedback.py, walkthrough.py: `topic`, `walkthrough`, `feedback`), never from the
  texts. Nothing personal leaves this module: no texts, no ids.

The two stores may be different databases, so nothing joins across them in SQL; the few rows that
need both (a handoff and its first staff reply, a fallback and its conversation's language) are
paired here in Python, and those sets are small.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    MetaData,
    String,
    and_,
    distinct,
    func,
    inspect,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from bot.tracker_admin import events
from bot.tracker_admin import reader as tracker_reader
from channels.models import Conversation, Message

T = TypeVar("T")
# Queries at once: the page's wait is its slowest query's (see report).
WORKERS = 4
# The periods the page offers; a chosen from-to period is at most a year.
PERIODS = (7, 30, 90)
MAX_DAYS = 366
# The task intents whose requests are counted (the account forms' too).
TASKS = (
    "get_pesel",
    "get_trusted_profile",
    "ikp_login",
    "forgot_username",
    "forgot_password",
    "check_status",
)
# Staff plan their hours in Poland: handoffs by hour of day are counted in its time.
LOCAL_TIME = ZoneInfo("Europe/Warsaw")
# A first staff reply is looked for this long after the period's end (a handoff late on its last day).
REPLY_HORIZON = timedelta(days=7)
# Conversation ids per IN (...) when their languages are looked up.
CHUNK = 500
# Indexes on Rasa's table (which Rasa creates with only sender_id indexed): every tracker query
# here is a range on one of them, so a period's figures never scan the whole table.
TRACKER_INDEXES = {
    # By sender within an action (a slot's name): the per-conversation figures group without a sort.
    "ix_events_action_name_sender": ("action_name", "sender_id", "timestamp"),
    # Timestamp last in both: led by a range, SQLite's planner would skip-scan one for the other's query.
    "ix_events_intent_name_sender": ("intent_name", "sender_id", "timestamp"),
}
# A slot event's value, as SQL text per dialect, and the index that holds it with the slot's name.
VALUE_EXPRESSIONS = {"sqlite": "json_extract(data, '$.value')", "postgresql": "((data::json) ->> 'value')"}
VALUE_INDEX = "ix_events_slot_value"
# The slot events the bot writes for the analytics, and the index that holds them whole (their
# `data` too, small for these slots): their values are read from the index in its order instead
# of row by row from the table. A partial index serves a query only when the query states its
# condition, in SQLite word for word: RECORDED is in both, as text.
RECORDED = "action_name IN ('feedback', 'topic', 'walkthrough')"  # slots: no action has these names
_ON_EVENTS = f"INDEX {VALUE_INDEX} ON events"
VALUE_INDEX_DDL = {
    "sqlite": f"CREATE {_ON_EVENTS} (action_name, timestamp, sender_id, data) WHERE {RECORDED}",
    # INCLUDE: PostgreSQL 11 or later; an index-only scan once autovacuum has marked the pages.
    "postgresql": f"CREATE {_ON_EVENTS} (action_name, timestamp, sender_id) INCLUDE (data) WHERE {RECORDED}",
}


@dataclass(frozen=True)
class Period:
    """Whole days in UTC, both ends included."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, today: date) -> Period:
        return cls(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), UTC)

    @property
    def end(self) -> datetime:
        """Exclusive."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass
class Activity:
    day: str
    language: str
    channel: str
    conversations: int
    messages: int


@dataclass
class LanguageRates:
    language: str
    messages: int
    fallbacks: int
    did_you_mean: int


@dataclass
class Waits:
    handoffs: int
    answered: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass
class HourRow:
    hour: int
    handoffs: int
    median_seconds: float | None


@dataclass
class Feedback:
    topic: str
    yes: int
    no: int


@dataclass
class FunnelStep:
    step: int
    saw: int
    stuck: int
    left: int


@dataclass
class Funnel:
    guide: str
    finished: int
    steps: list[FunnelStep]


@dataclass
class Report:
    """Every figure of the page for one period; only counts, rates and durations."""

    first: str
    last: str
    conversations: int
    solved: int
    activity: list[Activity]
    waits: Waits
    hours: list[HourRow]
    languages: list[LanguageRates]
    faq: list[tuple[str, int]]
    tasks: list[tuple[str, int]]
    feedback: list[Feedback]
    funnels: list[Funnel] = field(default_factory=list)

    @property
    def solved_share(self) -> float | None:
        return self.solved / self.conversations if self.conversations else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["solved_share"] = self.solved_share
        data["faq"] = [{"key": key, "count": count} for key, count in self.faq]
        data["tasks"] = [{"task": task, "count": count} for task, count in self.tasks]
        return data


def report(channels: Engine, tracker_url: str, period: Period) -> Report:
    """The page's figures for `period`. The tracker store may not exist yet (Rasa has written
    nothing): its figures are then zero.

    The queries are independent, so they run at once, each on a connection of its own: the page
    waits for the slowest one rather than for their sum (the databases use every core)."""
    tracker = tracker_reader(tracker_url)
    span = (period.start.timestamp(), period.end.timestamp())
    with ThreadPoolExecutor(WORKERS) as pool:
        activity = pool.submit(_on, channels, lambda c: _activity(c, period))
        conversations = pool.submit(_on, channels, lambda c: _conversations(c, period))
        staff = pool.submit(_on, channels, lambda c: _staff_replies(c, period))
        facts = _tracker_facts(pool, tracker, span) if tracker is not None else TrackerFacts()
    with channels.connect() as connection:
        languages = _languages(connection, {*facts.fallbacks, *facts.did_you_mean})
    waits, hours = _waits(facts.handoffs, staff.result())
    return Report(
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        conversations=conversations.result(),
        solved=facts.solved,
        activity=activity.result(),
        waits=waits,
        hours=hours,
        languages=_rates(activity.result(), facts, languages),
        faq=facts.faq,
        tasks=facts.tasks,
        feedback=facts.feedback,
        funnels=facts.funnels,
    )


def _on(engine: Engine, query: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return query(connection)


# The channel service's database


def _activity(connection: Connection, period: Period) -> list[Activity]:
    day = func.date(Message.created_at).label("day")
    # Per day and conversation first (from the index alone), so that only those pairs, not every
    # message, are joined with their conversation's language and channel.
    pairs = (
        select(day, Message.conversation_id, func.count().label("messages"))
        .where(_people(period))
        .group_by(day, Message.conversation_id)
        .subquery()
    )
    query = (
        select(
            pairs.c.day, Conversation.language, Conversation.channel, func.count(), func.sum(pairs.c.messages)
        )
        .join(Conversation, Conversation.id == pairs.c.conversation_id)
        .group_by(pairs.c.day, Conversation.language, Conversation.channel)
        .order_by(pairs.c.day, Conversation.language, Conversation.channel)
    )
    return [
        Activity(str(d), lang, channel, int(c), int(m))
        for d, lang, channel, c, m in connection.execute(query)
    ]


def _people(period: Period) -> ColumnElement[bool]:
    """Messages people wrote in the period (index ix_messages_author_created_at)."""
    return and_(Message.author == "user", Message.created_at >= period.start, Message.created_at < period.end)


def _conversations(connection: Connection, period: Period) -> int:
    query = select(func.count(distinct(Message.conversation_id))).where(_people(period))
    return int(connection.execute(query).scalar_one())


def _staff_replies(connection: Connection, period: Period) -> dict[str, list[datetime]]:
    query = (
        select(Message.conversation_id, Message.created_at)
        .where(
            Message.author == "staff",
            Message.created_at >= period.start,
            Message.created_at < period.end + REPLY_HORIZON,
        )
        .order_by(Message.created_at)
    )
    replies: dict[str, list[datetime]] = defaultdict(list)
    for conversation, created_at in connection.execute(query):
        replies[conversation].append(_aware(created_at))
    return replies


def _languages(connection: Connection, ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = select(Conversation.id, Conversation.language).where(Conversation.id.in_(chunk))
        found.update({row[0]: row[1] for row in connection.execute(query)})
    return found


def _aware(moment: datetime) -> datetime:
    # Raw Core selects return the naive UTC the column stores (the ORM type adds the zone).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Rasa's tracker store


@dataclass
class TrackerFacts:
    solved: int = 0
    handoffs: list[tuple[str, float]] = field(default_factory=list)
    fallbacks: Counter[str] = field(default_factory=Counter)
    did_you_mean: Counter[str] = field(default_factory=Counter)
    faq: list[tuple[str, int]] = field(default_factory=list)
    tasks: list[tuple[str, int]] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    funnels: list[Funnel] = field(default_factory=list)


def _tracker_facts(pool: ThreadPoolExecutor, engine: Engine, span: tuple[float, float]) -> TrackerFacts:
    with engine.connect() as connection:
        if not inspect(connection).has_table(events.name):
            return TrackerFacts()
    values = _Json(engine.dialect.name)

    def run(query: Callable[[Connection], T]) -> Future[T]:
        return pool.submit(_on, engine, query)

    # The slowest first, so that they start at once.
    people = run(lambda c: _funnel_people(c, span, values))
    last = run(lambda c: _funnel_last(c, span, values))
    topics = run(lambda c: _slot_values(c, "topic", span, values))
    feedback = run(lambda c: _slot_values(c, "feedback", span, values))
    solved = run(lambda c: _solved(c, span))
    handoffs = run(lambda c: _handoffs(c, span))
    fallbacks = run(lambda c: _per_conversation(c, events.c.intent_name == "nlu_fallback", span))
    asked = run(
        lambda c: _per_conversation(c, events.c.action_name == "action_default_ask_affirmation", span)
    )
    tasks = run(lambda c: _tasks(c, span))
    return TrackerFacts(
        solved=solved.result(),
        handoffs=handoffs.result(),
        fallbacks=fallbacks.result(),
        did_you_mean=asked.result(),
        faq=_ranked(topics.result(), "faq:"),
        tasks=tasks.result(),
        feedback=_feedback(feedback.result()),
        funnels=_assemble(people.result(), last.result()),
    )


class _Json:
    """A slot event's value (JSON text inside `data`), the path written out (no bound parameter):
    the same text in every query, for the database's statement cache and plans."""

    def __init__(self, dialect: str) -> None:
        self.expression = VALUE_EXPRESSIONS["postgresql" if dialect == "postgresql" else "sqlite"]

    def value(self) -> ColumnElement[str]:
        return literal_column(self.expression, String)


def _in(span: tuple[float, float]) -> ColumnElement[bool]:
    return and_(events.c.timestamp >= span[0], events.c.timestamp < span[1])


def _solved(connection: Connection, span: tuple[float, float]) -> int:
    """Conversations whose last answer (a guide finished, an FAQ answered: slot `topic`) came
    after their last handoff or fallback, or that had neither."""
    answered = (
        select(events.c.sender_id, func.max(events.c.timestamp).label("at"))
        .where(events.c.action_name == "topic", _in(span))
        .group_by(events.c.sender_id)
        .subquery()
    )
    # Two selects, each a range on its own index, rather than one OR that would use neither.
    failures = union_all(
        select(events.c.sender_id, events.c.timestamp).where(
            events.c.action_name == "action_handoff", _in(span)
        ),
        select(events.c.sender_id, events.c.timestamp).where(
            events.c.intent_name == "nlu_fallback", _in(span)
        ),
    ).subquery()
    last_failure = (
        select(failures.c.sender_id, func.max(failures.c.timestamp).label("at"))
        .group_by(failures.c.sender_id)
        .subquery()
    )
    query = (
        select(func.count())
        .select_from(answered.outerjoin(last_failure, last_failure.c.sender_id == answered.c.sender_id))
        .where(or_(last_failure.c.at.is_(None), last_failure.c.at < answered.c.at))
    )
    return int(connection.execute(query).scalar_one())


def _handoffs(connection: Connection, span: tuple[float, float]) -> list[tuple[str, float]]:
    query = select(events.c.sender_id, events.c.timestamp).where(
        events.c.action_name == "action_handoff", _in(span)
    )
    return [(sender, float(at)) for sender, at in connection.execute(query)]


def _per_conversation(
    connection: Connection, condition: ColumnElement[bool], span: tuple[float, float]
) -> Counter[str]:
    query = select(events.c.sender_id, func.count()).where(condition, _in(span)).group_by(events.c.sender_id)
    return Counter({sender: int(count) for sender, count in connection.execute(query)})


def _slot_values(connection: Connection, slot: str, span: tuple[float, float], values: _Json) -> Counter[str]:
    value = values.value()
    query = (
        select(value, func.count())
        .where(text(RECORDED), events.c.action_name == slot, _in(span))
        .group_by(value)
    )
    # A slot set to None (never done for these, but Rasa would allow it) has no value to count.
    found: Counter[str] = Counter()
    for v, n in connection.execute(query):
        if v is not None:
            found[str(v)] = int(n)
    return found


def _ranked(topics: Counter[str], prefix: str) -> list[tuple[str, int]]:
    found = Counter({t.removeprefix(prefix): n for t, n in topics.items() if t.startswith(prefix)})
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _tasks(connection: Connection, span: tuple[float, float]) -> list[tuple[str, int]]:
    query = (
        select(events.c.intent_name, func.count())
        .where(events.c.intent_name.in_(TASKS), _in(span))
        .group_by(events.c.intent_name)
    )
    found = {str(task): int(count) for task, count in connection.execute(query)}
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _feedback(answers: Counter[str]) -> list[Feedback]:
    """Slot `feedback` values "<yes|no> <topic>" counted per topic."""
    per_topic: dict[str, Feedback] = {}
    for value, count in answers.items():
        answer, _, topic = value.partition(" ")
        if answer not in ("yes", "no") or not topic:
            continue
        row = per_topic.setdefault(topic, Feedback(topic, 0, 0))
        if answer == "yes":
            row.yes += count
        else:
            row.no += count
    return sorted(per_topic.values(), key=lambda row: (-(row.yes + row.no), row.topic))


def _funnel_people(connection: Connection, span: tuple[float, float], values: _Json) -> Counter[str]:
    """People per value of slot `walkthrough` (a guide's step shown, its stuck help, its end): two
    groupings."""
    value = values.value().label("value")
    pairs = (
        select(value, events.c.sender_id)
        .where(text(RECORDED), events.c.action_name == "walkthrough", _in(span))
        .group_by(value, events.c.sender_id)
        .subquery()
    )
    query = select(pairs.c.value, func.count()).group_by(pairs.c.value)
    return Counter({str(v): int(n) for v, n in connection.execute(query)})


def _funnel_last(connection: Connection, span: tuple[float, float], values: _Json) -> Counter[str]:
    """People per value of their last sight of a walkthrough in the period: where they left it,
    unless it is an end."""
    newest = (
        select(events.c.sender_id, func.max(events.c.timestamp).label("at"))
        .where(text(RECORDED), events.c.action_name == "walkthrough", _in(span))
        .group_by(events.c.sender_id)
        .subquery()
    )
    value = values.value().label("value")
    query = (
        select(value, func.count())
        .join(newest, and_(newest.c.sender_id == events.c.sender_id, newest.c.at == events.c.timestamp))
        .where(text(RECORDED), events.c.action_name == "walkthrough")
        .group_by(value)
    )
    return Counter({str(v): int(n) for v, n in connection.execute(query)})


def _assemble(people: Counter[str], last: Counter[str]) -> list[Funnel]:
    steps: dict[str, dict[int, FunnelStep]] = defaultdict(dict)
    finished: Counter[str] = Counter()
    for value in {*people, *last}:
        try:
            shown = json.loads(value)
            guide, what = str(shown["guide"]), shown["shown"]
        except (ValueError, TypeError, KeyError):
            continue  # not a value the walkthrough action writes
        if what == "done":
            finished[guide] += people[value]
            continue
        number = int(shown["step"])
        row = steps[guide].setdefault(number, FunnelStep(number, 0, 0, 0))
        row.saw += people[value] if what == "step" else 0
        row.stuck += people[value] if what == "stuck" else 0
        row.left += last[value]
    guides = sorted({*steps, *finished})
    return [Funnel(g, finished[g], [steps[g][n] for n in sorted(steps[g])]) for g in guides]


# Pairing what the two stores hold


def _waits(
    handoffs: Iterable[tuple[str, float]], replies: dict[str, list[datetime]]
) -> tuple[Waits, list[HourRow]]:
    """Seconds from each handoff to the first staff reply after it in its conversation."""
    waited: list[float] = []
    by_hour: dict[int, list[float | None]] = defaultdict(list)
    count = 0
    for sender, at in handoffs:
        count += 1
        moment = datetime.fromtimestamp(at, UTC)
        first = next((r for r in replies.get(sender, []) if r >= moment), None)
        seconds = (first - moment).total_seconds() if first else None
        if seconds is not None:
            waited.append(seconds)
        by_hour[moment.astimezone(LOCAL_TIME).hour].append(seconds)
    hours = [
        HourRow(hour, len(by_hour[hour]), _median([s for s in by_hour[hour] if s is not None]))
        for hour in range(24)
    ]
    return Waits(count, len(waited), _median(waited), _percentile(waited, 0.9)), hours


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return float(ordered[int(rank) - 1])


def _rates(activity: list[Activity], facts: TrackerFacts, languages: dict[str, str]) -> list[LanguageRates]:
    """Fallbacks and "did you mean" per language, over the messages people wrote in it."""
    messages: Counter[str] = Counter()
    for row in activity:
        messages[row.language] += row.messages
    fallbacks: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    for sender, count in facts.fallbacks.items():
        fallbacks[languages.get(sender, "?")] += count
    for sender, count in facts.did_you_mean.items():
        asked[languages.get(sender, "?")] += count
    found = sorted({*messages, *fallbacks, *asked})
    return [LanguageRates(lang, messages[lang], fallbacks[lang], asked[lang]) for lang in found]


# Indexes


def create_tracker_indexes(url: str) -> list[str]:
    """Adds the indexes of TRACKER_INDEXES to Rasa's table (a write: run it once, with a user that
    may; the page works without them, only slower). Returns the names created."""
    from common.db import make_engine

    engine = make_engine(url)
    created = []
    with engine.begin() as connection:
        if not inspect(connection).has_table(events.name):
            return []
        existing = {index["name"] for index in inspect(connection).get_indexes(events.name)}
        # On a copy of the table: indexes on `events` itself would be created with it in tests.
        table = events.to_metadata(MetaData())
        for name, columns in TRACKER_INDEXES.items():
            if name not in existing:
                Index(name, *(table.c[column] for column in columns)).create(connection)
                created.append(name)
        if not _index_exists(connection, VALUE_INDEX):  # SQLAlchemy lists no partial SQLite index
            dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
            connection.execute(text(VALUE_INDEX_DDL[dialect]))
            created.append(VALUE_INDEX)
        if created:
            # Without statistics SQLite's planner scans the table rather than take a partial index.
            connection.execute(text(f"ANALYZE {events.name}"))
    engine.dispose()
    return created


def _index_exists(connection: Connection, name: str) -> bool:
    catalogue = (
        "SELECT 1 FROM pg_indexes WHERE indexname = :name"
        if connection.dialect.name == "postgresql"
        else "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
    )
    return connection.execute(text(catalogue), {"name": name}).first() is not None


def main(argv: list[str] | None = None) -> None:
    from channels.config import Settings

    parser = argparse.ArgumentParser(prog="python -m channels.analytics")
    parser.add_argument(
        "command", choices=["indexes"], help="add the analytics' indexes to Rasa's tracker store"
    )
    parser.parse_args(argv)
    created = create_tracker_indexes(Settings().rasa_tracker_db_url)
    print(f"created: {', '.join(created) or 'none (they exist)'}")


if __name__ == "__main__":
    main()
