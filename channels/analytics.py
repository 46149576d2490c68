"""The console's analytics: figures for a period, by SQL that runs the same on SQLite and PostgreSQL
over the analytics' summary (channels/analytics_summary.py), which the channel service keeps in its
database from the two stores that exist:

- its own messages: conversations and messages per day by language and channel (and, read
  directly, when staff first replied after a handoff);
- Rasa's tracker store (table `events`, read only): handoffs, fallbacks, "did you mean", what was
  answered, feedback and the walkthroughs' steps. Those come from columns Rasa fills for every
  event (`intent_name` of a user message; `action_name`, which holds an action's name and also a
  slot event's slot name) and from the small JSON of the slot events the bot's actions set for this
  (bot/actions/feedback.py, walkthrough.py: `topic`, `walkthrough`, `feedback`), never from the
  texts.

The summary holds rows per conversation and day, so a period reads about one row per conversation
and day in it rather than every message and event; it is brought up to date before the figures
are read. Nothing personal leaves this module: no texts, no ids.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, or_, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from channels import analytics_summary
from channels.analytics_summary import TASK
from channels.models import AnalyticsDay, AnalyticsHandoff, AnalyticsValue, Conversation, Message

T = TypeVar("T")
# Queries at once: the page's wait is its slowest query's (see report).
WORKERS = 4
# The periods the page offers; a chosen from-to period is at most a year.
PERIODS = (7, 30, 90)
MAX_DAYS = 366
# Staff plan their hours in Poland: handoffs by hour of day are counted in its time.
LOCAL_TIME = ZoneInfo("Europe/Warsaw")
# A first staff reply is looked for this long after the period's end (a handoff late on its last day).
REPLY_HORIZON = timedelta(days=7)


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
    """The page's figures for `period`, after the summary has caught up with both stores. The
    tracker store may not exist yet (Rasa has written nothing): its figures are then zero.

    The queries are independent, so they run at once, each on a connection of its own: the page
    waits for the slowest one rather than for their sum (the database uses every core)."""
    analytics_summary.refresh(channels, tracker_url)
    with ThreadPoolExecutor(WORKERS) as pool:

        def run(query: Callable[[Connection], T]) -> Any:
            return pool.submit(_on, channels, query)

        walkthroughs = run(lambda c: _values(c, period, ("walkthrough",)))
        activity = run(lambda c: _activity(c, period))
        counted = run(lambda c: _values(c, period, ("topic", "feedback", TASK)))
        totals = run(lambda c: _totals(c, period))
        per_language = run(lambda c: _per_language(c, period))
        handoffs = run(lambda c: _handoffs(c, period))
        staff = run(lambda c: _staff_replies(c, period))
    conversations, solved = totals.result()
    waits, hours = _waits(handoffs.result(), staff.result())
    values: dict[str, Counter[str]] = {**counted.result(), **walkthroughs.result()}
    return Report(
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        conversations=conversations,
        solved=solved,
        activity=activity.result(),
        waits=waits,
        hours=hours,
        languages=_rates(activity.result(), per_language.result()),
        faq=_ranked(values.get("topic", Counter()), "faq:"),
        tasks=_ranked(values.get(TASK, Counter()), ""),
        feedback=_feedback(values.get("feedback", Counter())),
        funnels=_assemble(values.get("walkthrough", Counter()), values.get("left", Counter())),
    )


def _on(engine: Engine, query: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return query(connection)


def _days(period: Period, day: QueryableAttribute[date]) -> ColumnElement[bool]:
    return day.between(period.first, period.last)


def _last_in(period: Period, next_day: QueryableAttribute[date | None]) -> ColumnElement[bool]:
    """A conversation's last day in the period with a fact: its next day with it is after the
    period, or there is none. Counting those rows counts each conversation once."""
    return or_(next_day.is_(None), next_day > period.last)


def _totals(connection: Connection, period: Period) -> tuple[int, int]:
    """(Conversations in which people wrote, conversations solved without a person: whose last
    answer, a guide finished or an FAQ answered, came after their last handoff or fallback)."""
    d = AnalyticsDay
    query = select(
        func.count().filter(d.messages > 0, _last_in(period, d.messages_next)),
        func.count().filter(d.solved.is_(True), _last_in(period, d.solved_next)),
    ).where(_days(period, d.day))
    conversations, solved = connection.execute(query).one()
    return int(conversations), int(solved)


def _activity(connection: Connection, period: Period) -> list[Activity]:
    d = AnalyticsDay
    query = (
        select(d.day, Conversation.language, Conversation.channel, func.count(), func.sum(d.messages))
        .join(Conversation, Conversation.id == d.conversation_id)
        .where(_days(period, d.day), d.messages > 0)
        .group_by(d.day, Conversation.language, Conversation.channel)
        .order_by(d.day, Conversation.language, Conversation.channel)
    )
    return [
        Activity(str(day), lang, channel, int(c), int(m))
        for day, lang, channel, c, m in connection.execute(query)
    ]


def _per_language(connection: Connection, period: Period) -> dict[str, tuple[int, int]]:
    """Fallbacks and "did you mean" per conversation language ("?" for one the service does not know)."""
    d = AnalyticsDay
    language = func.coalesce(Conversation.language, "?")
    query = (
        select(language, func.sum(d.fallbacks), func.sum(d.did_you_mean))
        .outerjoin(Conversation, Conversation.id == d.conversation_id)
        .where(_days(period, d.day), or_(d.fallbacks > 0, d.did_you_mean > 0))
        .group_by(language)
    )
    return {str(lang): (int(f), int(a)) for lang, f, a in connection.execute(query)}


def _values(connection: Connection, period: Period, kinds: tuple[str, ...]) -> dict[str, Counter[str]]:
    """Per kind and value: events for topics, feedback and tasks; for walkthroughs, people per
    value ("walkthrough") and people whose last walkthrough in the period it was ("left")."""
    v = AnalyticsValue
    people = func.count().filter(_last_in(period, v.next))
    left = func.sum(v.last).filter(_last_in(period, v.kind_next))
    query = (
        select(v.kind, v.value, func.sum(v.events), people, left)
        .where(v.kind.in_(kinds), _days(period, v.day))
        .group_by(v.kind, v.value)
    )
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, value, count, persons, leaving in connection.execute(query):
        if kind == "walkthrough":
            found[kind][value] = int(persons)
            if leaving:
                found["left"][value] = int(leaving)
        else:
            found[kind][value] = int(count)
    return found


def _handoffs(connection: Connection, period: Period) -> list[tuple[str, float]]:
    h = AnalyticsHandoff
    query = select(h.conversation_id, h.at, h.events).where(_days(period, h.day))
    return [(sender, float(at)) for sender, at, count in connection.execute(query) for _ in range(count)]


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


def _aware(moment: datetime) -> datetime:
    # Raw Core selects return the naive UTC the column stores (the ORM type adds the zone).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ranked(topics: Counter[str], prefix: str) -> list[tuple[str, int]]:
    found = Counter({t.removeprefix(prefix): n for t, n in topics.items() if t.startswith(prefix)})
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


# Pairing a handoff with its staff reply, and rates per language


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


def _rates(activity: list[Activity], per_language: dict[str, tuple[int, int]]) -> list[LanguageRates]:
    """Fallbacks and "did you mean" per language, over the messages people wrote in it."""
    messages: Counter[str] = Counter()
    for row in activity:
        messages[row.language] += row.messages
    found = sorted({*messages, *per_language})
    return [LanguageRates(lang, messages[lang], *per_language.get(lang, (0, 0))) for lang in found]
