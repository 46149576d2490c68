"""A small analytics dataset whose figures are known (tests/unit/test_analytics.py, the console's
analytics page in the browser tests and on PostgreSQL in tests/backend).

Rows are written the way the real writers write them: the channel service's messages through its
models, Rasa's events with the columns SQLTrackerStore fills (`action_name` is a slot event's slot
name) and the slot events the bot's actions set (bot/actions/feedback.py, walkthrough.py).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, insert

from bot.tracker_admin import events
from channels.models import Base, Conversation, Message

PERIOD = (date(2026, 11, 1), date(2026, 11, 7))


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def user(sender: str, moment: datetime, intent: str) -> dict[str, Any]:
    data = {
        "event": "user",
        "timestamp": moment.timestamp(),
        "text": "private words",
        "parse_data": {"intent": {"name": intent}},
    }
    return _row(sender, "user", moment, data, intent=intent)


def action(sender: str, moment: datetime, name: str) -> dict[str, Any]:
    data = {"event": "action", "timestamp": moment.timestamp(), "name": name}
    return _row(sender, "action", moment, data, action=name)


def slot(sender: str, moment: datetime, name: str, value: Any) -> dict[str, Any]:
    data = {"event": "slot", "timestamp": moment.timestamp(), "name": name, "value": value}
    return _row(sender, "slot", moment, data, action=name)


def shown(sender: str, moment: datetime, guide: str, step: int | None, what: str) -> dict[str, Any]:
    return slot(sender, moment, "walkthrough", {"guide": guide, "step": step, "shown": what})


def _row(
    sender: str,
    type_name: str,
    moment: datetime,
    data: dict[str, Any],
    intent: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    return {
        "sender_id": sender,
        "type_name": type_name,
        "timestamp": moment.timestamp(),
        "intent_name": intent,
        "action_name": action,
        "data": json.dumps(data),
    }


def tracker_rows() -> list[dict[str, Any]]:
    a, b, c, d, e = "web-a", "web-b", "telegram-c", "web-d", "web-e"
    return [
        # a: the PESEL guide to its end (stuck on step 2 on the way), then "yes, it helped"
        user(a, at(2, 9), "get_pesel"),
        shown(a, at(2, 9, 0, 1), "get_pesel", 1, "step"),
        shown(a, at(2, 9, 1), "get_pesel", 2, "step"),
        shown(a, at(2, 9, 2), "get_pesel", 2, "stuck"),
        shown(a, at(2, 9, 3), "get_pesel", 2, "step"),
        shown(a, at(2, 9, 4), "get_pesel", 3, "step"),
        shown(a, at(2, 9, 5), "get_pesel", None, "done"),
        slot(a, at(2, 9, 5), "topic", "guide:get_pesel"),
        slot(a, at(2, 9, 5), "feedback_topic", "guide:get_pesel"),
        slot(a, at(2, 9, 6), "feedback", "yes guide:get_pesel"),
        # b: an FAQ answer, then a fallback with "did you mean": not solved; "no, it didn't help"
        user(b, at(3, 12), "faq"),
        action(b, at(3, 12, 0, 1), "utter_faq"),
        slot(b, at(3, 12, 0, 1), "topic", "faq:ikp_cost"),
        slot(b, at(3, 12, 1), "feedback", "no faq:ikp_cost"),
        user(b, at(3, 12, 2), "nlu_fallback"),
        action(b, at(3, 12, 2, 1), "action_default_ask_affirmation"),
        # c: leaves the PESEL guide on step 2, asks for a person at 10:00 UTC (11:00 in Warsaw)
        user(c, at(3, 15), "get_pesel"),
        shown(c, at(3, 15, 0, 1), "get_pesel", 1, "step"),
        shown(c, at(3, 15, 1), "get_pesel", 2, "step"),
        user(c, at(4, 10), "human_handoff"),
        action(c, at(4, 10), "action_handoff"),
        # d: a fallback, a person at 08:00 UTC (09:00 in Warsaw), then an FAQ answer: solved
        user(d, at(5, 7, 59), "nlu_fallback"),
        action(d, at(5, 8), "action_handoff"),
        slot(d, at(5, 9), "topic", "faq:ikp_cost"),
        # e: before the period
        user(e, at(20, 9, month=10), "get_pesel"),
        slot(e, at(20, 9, month=10), "topic", "faq:what_is_pesel"),
    ]


def channel_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    conversations = [
        ("web-a", "web", "uk"),
        ("web-b", "web", "pl"),
        ("telegram-c", "telegram", "en"),
        ("web-d", "web", "uk"),
        ("web-e", "web", "ru"),
    ]
    people = [
        ("web-a", at(2, 9)),
        ("web-a", at(2, 9, 1)),
        ("web-b", at(3, 12)),
        ("web-b", at(3, 12, 1)),
        ("web-b", at(3, 12, 2)),
        ("telegram-c", at(3, 15)),
        ("telegram-c", at(4, 10)),
        ("web-d", at(5, 7, 59)),
        ("web-e", at(20, 9, month=10)),
    ]
    staff = [("telegram-c", at(4, 10, 5)), ("web-d", at(5, 8, 1)), ("web-d", at(5, 8, 30))]
    messages = [
        {"conversation_id": c, "author": "user", "text": "private words", "buttons": [], "created_at": m}
        for c, m in people
    ] + [
        {"conversation_id": c, "author": "staff", "text": "private words", "buttons": [], "created_at": m}
        for c, m in staff
    ]
    rows = [
        {
            "id": i,
            "channel": ch,
            "external_id": i.split("-", 1)[1],
            "language": lang,
            "state": "bot",
            "created_at": at(1, 0, month=10),
            "updated_at": at(1, 0, month=10),
        }
        for i, ch, lang in conversations
    ]
    return rows, messages


def fill(channels: Engine, tracker: Engine) -> None:
    """The dataset into a channel service's database and a tracker store (tables created)."""
    Base.metadata.create_all(channels)
    events.metadata.create_all(tracker)
    conversations, messages = channel_rows()
    with channels.begin() as connection:
        connection.execute(insert(Conversation), conversations)
        connection.execute(insert(Message), messages)
    with tracker.begin() as connection:
        connection.execute(insert(events), tracker_rows())
