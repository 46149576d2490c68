"""The conversation's language: the channel's hint at the start, explicit switches later."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.navigation import step_response
from actions.walkthrough import position_of
from common.languages import LANGUAGES


def language_hint(metadata: dict[str, Any] | None) -> str | None:
    """A channel's hint ("uk", "pl-PL", "en_GB", "ru") as one of the bot's languages."""
    hint = str((metadata or {}).get("language") or "").strip().lower()
    code = hint.replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def explicit_language(tracker: Tracker) -> str | None:
    """The language the user asked for by name (not the detected one)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "language" and not entity.get("role") and entity.get("value") in LANGUAGES:
            return entity["value"]
    return None


class ActionSessionStart(Action):
    """Starts a session, keeping the language; the first one takes the channel's language hint."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata")
        # SessionStarted resets every slot: the session's metadata is set again, as Rasa's own
        # action_session_start does, so that later actions can read the channel.
        events: list[EventType] = [SessionStarted(), SlotSet("session_started_metadata", metadata)]
        language = tracker.get_slot("language")
        chosen_before = any(e.get("event") == "slot" and e.get("name") == "language" for e in tracker.events)
        hint = language_hint(metadata)
        if hint and not chosen_before:
            language = hint
        if language:
            events.append(SlotSet("language", language))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionSwitchLanguage(Action):
    """Confirms a language switch (the slot is already set by its mapping), or asks which one."""

    def name(self) -> str:
        return "action_switch_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not explicit_language(tracker):
            dispatcher.utter_message(response="utter_choose_language")
            return []
        dispatcher.utter_message(response="utter_language_switched")
        position = position_of(tracker)
        if position.guide and position.step:
            dispatcher.utter_message(response=step_response(position.guide, position.step))
        return []
