"""Handing a conversation to the helpdesk: a ticket in the backend, a word to the person, then
silence (the conversation is paused) until staff hand it back through the channel service.

The channel service learns of the handoff from the custom message {"handoff": {...}} and sends the
person's next messages to the ticket instead of the bot.
"""

from __future__ import annotations

import os
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import Refused, backend
from actions.forms import leave_form
from actions.texts import language_of

# When the helpdesk answers; utter_helpdesk_closed (knowledge/conversation.yml) states the same hours.
HELPDESK_TIMEZONE = ZoneInfo(os.environ.get("HELPDESK_TIMEZONE", "Europe/Warsaw"))
HELPDESK_DAYS = os.environ.get("HELPDESK_DAYS", "0-4")  # Monday is 0
HELPDESK_HOURS = os.environ.get("HELPDESK_HOURS", "08:00-18:00")


def helpdesk_open(now: datetime) -> bool:
    local = now.astimezone(HELPDESK_TIMEZONE)
    first_day, last_day = (int(day) for day in HELPDESK_DAYS.split("-"))
    opens, closes = (time.fromisoformat(hour) for hour in HELPDESK_HOURS.split("-"))
    return first_day <= local.weekday() <= last_day and opens <= local.time() < closes


def channel_of(tracker: Tracker) -> str:
    """The channel the person writes from, as the channel service told at the session's start
    (else Rasa's REST channel)."""
    metadata = tracker.get_slot("session_started_metadata") or {}
    return str(metadata.get("channel") or "rest")


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    language = language_of(tracker)
    try:
        ticket_id = await backend().open_ticket(tracker.sender_id, channel_of(tracker), language, reason)
    except Refused:  # unavailable included
        dispatcher.utter_message(response="utter_handoff_unavailable")
        return leave_form(tracker)
    dispatcher.utter_message(response="utter_handoff_opened")
    if not helpdesk_open(datetime.now(HELPDESK_TIMEZONE)):
        dispatcher.utter_message(response="utter_helpdesk_closed")
    dispatcher.utter_message(json_message={"handoff": {"ticket_id": ticket_id, "language": language}})
    return [*leave_form(tracker), ConversationPaused()]


class ActionHandoff(Action):
    """The person asked for a human."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await hand_off(dispatcher, tracker, "requested")


class ActionDefaultFallback(Action):
    """The last stage of the two-stage fallback: "did you mean" and a rephrasing both failed.

    Offers a person or the menu rather than opening a ticket by itself: two unreadable messages
    are as often a slip of the thumb as a person in need, and a conversation handed off without
    being asked goes silent for whatever the person writes next.
    """

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_default")
        # As Rasa's own default fallback: the unread message leaves the tracker, so that the
        # policies do not predict from it again.
        return [UserUtteranceReverted()]
