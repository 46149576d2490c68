"""Actions that walk a person through a guide, one step a message."""

from __future__ import annotations

import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import leave_form
from actions.navigation import FEEDBACK_QUESTION, Guides, Move, Position, feedback_after, guide_topic, shown

# The organisation's own patient portal (its name as people know it), whose username reminders
# and password resets the account forms request; without one, they are not offered.
PORTAL_NAME = os.environ.get("PORTAL_NAME", "").strip()
GUIDES = Guides.load(offers=bool(PORTAL_NAME))
# "no", "cancel" and "back" (step_back) to a form's question leave the form.
FORM_CANCELLING_INTENTS = ("deny", "cancel", "step_back")


def last_bot_response(tracker: Tracker) -> str | None:
    """The response name of the bot's last message before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            return (event.get("metadata") or {}).get("utter_action")
    return None


def position_of(tracker: Tracker) -> Position:
    step = tracker.get_slot("step")
    return Position(tracker.get_slot("guide"), int(step) if step else None, tracker.get_slot("return_to"))


def position_events(position: Position) -> list[EventType]:
    return [
        SlotSet("guide", position.guide),
        SlotSet("step", float(position.step) if position.step else None),
        SlotSet("return_to", position.return_to),
    ]


class ActionWalkthrough(Action):
    """Starts, advances, resumes and branches walkthroughs (see navigation.Guides.move).

    A form in progress is left: a task asked for instead of the form's answer wins, and "no",
    "cancel" or "back" cancel the form.
    """

    def name(self) -> str:
        return "action_walkthrough"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        leaving = leave_form(tracker)
        if leaving and intent in FORM_CANCELLING_INTENTS:  # stop asking
            dispatcher.utter_message(response="utter_form_cancelled")
            if position_of(tracker).guide:  # the form interrupted a walkthrough
                dispatcher.utter_message(response="utter_offer_continue")
            return leaving
        move = GUIDES.move(intent, position_of(tracker), last_bot_response(tracker))
        for response in move.responses:
            dispatcher.utter_message(response=response, portal=PORTAL_NAME)  # the offers name it
        # The form's questions name the portal too: they read it from the slot.
        form = [SlotSet("portal", PORTAL_NAME), FollowupAction(move.form)] if move.form else []
        feedback = feedback_events(dispatcher, tracker, move)
        return leaving + position_events(move.position) + record_events(move) + feedback + form


def record_events(move: Move) -> list[EventType]:
    """What the move showed, and the topic a finished guide answered: the tracker's record that the
    console's analytics count (slot events are indexed by name, bot messages are not)."""
    record = shown(move)
    events: list[EventType] = [SlotSet("walkthrough", record)] if record else []
    if move.finished:
        events.append(SlotSet("topic", guide_topic(move.finished)))
    return events


def feedback_events(dispatcher: CollectingDispatcher, tracker: Tracker, move: Move) -> list[EventType]:
    """Asks "did this help?" at a guide's end (navigation.feedback_after decides when)."""
    topic = feedback_after(move, tracker.get_slot("feedback_asked"))
    if topic is None:
        return []
    dispatcher.utter_message(response=FEEDBACK_QUESTION)
    return asked_events(tracker, topic)


def asked_events(tracker: Tracker, topic: str) -> list[EventType]:
    """Remembers the question: its topic (the answer's topic) and that it was asked."""
    asked = [*(tracker.get_slot("feedback_asked") or []), topic]
    return [SlotSet("feedback_topic", topic), SlotSet("feedback_asked", asked)]


class ActionLeaveWalkthrough(Action):
    """Back to the menu: forget the walkthrough and any form in progress."""

    def name(self) -> str:
        return "action_leave_walkthrough"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return position_events(Position()) + leave_form(tracker)
