"""Feedback from people: "did this help?" after an FAQ answer (a guide's end asks in
walkthrough.py), and the answer its buttons send (/feedback{"helpful":"yes"|"no"}).

The tracker keeps what the console's analytics read: slot `topic` for every answer, slot
`feedback_topic` when asking, slot `feedback` ("<yes|no> <topic>") for the answer.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.navigation import FEEDBACK_QUESTION, faq_topic, feedback_due
from actions.walkthrough import asked_events

ANSWERS = ("yes", "no")


def faq_key(parse_data: dict[str, Any]) -> str | None:
    """The FAQ key of a message the response selector answered ("faq/what_is_ikp" -> what_is_ikp)."""
    response = (parse_data.get("response_selector") or {}).get("faq", {}).get("response") or {}
    key = str(response.get("intent_response_key") or "")
    return key.split("/", 1)[1] if "/" in key else None


def answer_of(parse_data: dict[str, Any]) -> str | None:
    for entity in parse_data.get("entities") or []:
        if entity.get("entity") == "helpful" and entity.get("value") in ANSWERS:
            return str(entity["value"])
    return None


class ActionAfterAnswer(Action):
    """After utter_faq: records the topic; outside a walkthrough and a form, asks once per FAQ."""

    def name(self) -> str:
        return "action_after_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        key = faq_key(tracker.latest_message)
        if key is None:
            return []
        topic = faq_topic(key)
        events: list[EventType] = [SlotSet("topic", topic)]
        # In a walkthrough the offer to continue follows; in a form its question is asked again.
        busy = bool(tracker.get_slot("guide")) or bool(tracker.active_loop.get("name"))
        if feedback_due(topic, tracker.get_slot("feedback_asked"), in_form=busy):
            dispatcher.utter_message(response=FEEDBACK_QUESTION)
            events += asked_events(tracker, topic)
        return events


class ActionFeedback(Action):
    """A press of "did this help?": thanks for a yes; a person or the menu offered for a no."""

    def name(self) -> str:
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = answer_of(tracker.latest_message)
        topic = tracker.get_slot("feedback_topic")
        dispatcher.utter_message(
            response="utter_feedback_sorry" if answer == "no" else "utter_feedback_thanks"
        )
        # Recorded once per question: a second press (or a stale button) changes nothing.
        if answer is None or not topic:
            return []
        return [SlotSet("feedback", f"{answer} {topic}"), SlotSet("feedback_topic", None)]
