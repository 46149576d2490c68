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
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Index,
    MetaData,
    and_,
    case,
    cast,
    distinct,
    func,
    inspect,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from channels.insights import _reader as tracker_reader
from channels.models import Conversation, Message
from channels.rasa_events import events

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
    "ix_events_action_name_timestamp": ("action_name", "timestamp", "sender_id"),
    "ix_events_intent_name_timestamp": ("intent_name", "timestamp", "sender_id"),
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
    nothing): its figures are then zero."""
    with channels.connect() as connection:
        activity = _activity(connection, period)
        conversations = _conversations(connection, period)
        staff = _staff_replies(connection, period)
    tracker = tracker_reader(tracker_url)
    facts = _tracker_facts(tracker, period) if tracker is not None else TrackerFacts()
    with channels.connect() as connection:
        languages = _languages(connection, {*facts.fallbacks, *facts.did_you_mean})
    waits, hours = _waits(facts.handoffs, staff)
    return Report(
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        conversations=conversations,
        solved=facts.solved,
        activity=activity,
        waits=waits,
        hours=hours,
        languages=_rates(activity, facts, languages),
        faq=facts.faq,
        tasks=facts.tasks,
        feedback=facts.feedback,
        funnels=facts.funnels,
    )


# The channel service's database


def _activity(connection: Connection, period: Period) -> list[Activity]:
    day = func.date(Message.created_at)
    query = (
        select(
            day,
            Conversation.language,
            Conversation.channel,
            func.count(distinct(Message.conversation_id)),
            func.count(),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(_people(period))
        .group_by(day, Conversation.language, Conversation.channel)
        .order_by(day, Conversation.language, Conversation.channel)
    )
    return [Activity(str(d), lang, channel, c, m) for d, lang, channel, c, m in connection.execute(query)]


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


def _tracker_facts(engine: Engine, period: Period) -> TrackerFacts:
    with engine.connect() as connection:
        if not inspect(connection).has_table(events.name):
            return TrackerFacts()
        span = (period.start.timestamp(), period.end.timestamp())
        json = _Json(connection.dialect.name)
        topics = _slot_values(connection, "topic", span, json)
        return TrackerFacts(
            solved=_solved(connection, span),
            handoffs=_handoffs(connection, span),
            fallbacks=_per_conversation(connection, events.c.intent_name == "nlu_fallback", span),
            did_you_mean=_per_conversation(
                connection, events.c.action_name == "action_default_ask_affirmation", span
            ),
            faq=_ranked(topics, "faq:"),
            tasks=_tasks(connection, span),
            feedback=_feedback(_slot_values(connection, "feedback", span, json)),
            funnels=_funnels(connection, span, json),
        )


class _Json:
    """A value inside the JSON text of an event: SQLite reads the text as it is, PostgreSQL needs
    it cast (the column is TEXT); SQLAlchemy writes json_extract or #>> for each."""

    def __init__(self, dialect: str) -> None:
        self._cast = dialect == "postgresql"

    def text(self, *path: str) -> ColumnElement[str]:
        document = cast(events.c.data, JSON) if self._cast else type_coerce(events.c.data, JSON)
        value: ColumnElement[str] = document[path].as_string()
        return value


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


def _slot_values(connection: Connection, slot: str, span: tuple[float, float], json: _Json) -> Counter[str]:
    value = json.text("value")
    query = (
        select(value, func.count())
        .where(events.c.action_name == slot, events.c.type_name == "slot", _in(span))
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


def _funnels(connection: Connection, span: tuple[float, float], json: _Json) -> list[Funnel]:
    """Per guide and step: people who saw it, were shown its stuck help, or whose last sight of
    the guide in the period it was (no end after it). From slot `walkthrough`."""
    shown = (
        select(
            events.c.sender_id.label("sender"),
            json.text("value", "guide").label("guide"),
            json.text("value", "step").label("step"),
            json.text("value", "shown").label("shown"),
            func.row_number()
            .over(
                partition_by=(events.c.sender_id, json.text("value", "guide")),
                order_by=(events.c.timestamp.desc(), events.c.id.desc()),
            )
            .label("newest"),
        )
        .where(events.c.action_name == "walkthrough", events.c.type_name == "slot", _in(span))
        .subquery()
    )
    people = func.count(distinct(shown.c.sender))
    left = func.sum(_case((shown.c.newest == 1) & (shown.c.shown != "done")))
    query = select(shown.c.guide, shown.c.step, shown.c.shown, people, left).group_by(
        shown.c.guide, shown.c.step, shown.c.shown
    )
    return _assemble(connection.execute(query).all())


def _case(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _assemble(rows: Sequence[Any]) -> list[Funnel]:
    steps: dict[str, dict[int, FunnelStep]] = defaultdict(dict)
    finished: Counter[str] = Counter()
    for guide, step, what, people, left in rows:
        if not guide:
            continue
        if what == "done":
            finished[str(guide)] += int(people)
            continue
        number = int(float(step))
        row = steps[str(guide)].setdefault(number, FunnelStep(number, 0, 0, 0))
        if what == "step":
            row.saw += int(people)
        elif what == "stuck":
            row.stuck += int(people)
        row.left += int(left or 0)
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
    engine.dispose()
    return created


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
