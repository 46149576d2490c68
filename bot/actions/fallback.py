"""The two-stage fallback: "did you mean …?" with the likeliest intents, then "please rephrase"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.texts import language_of, localized_text
from actions.walkthrough import last_bot_response

MAX_SUGGESTIONS = 3
NOT_SUGGESTED = {"nlu_fallback", "out_of_scope"}
# Unreadable text ranks every intent low ("lkjh poiu mnbv": switch_language 0.29): suggesting
# those would be guessing, so below this the person is asked to rephrase instead.
MIN_SUGGESTION_CONFIDENCE = 0.3


def suggestions(parse_data: dict[str, Any]) -> list[tuple[str, str]]:
    """(payload, label response) for the likeliest intents that have a label."""
    found: list[tuple[str, str]] = []
    for ranked in parse_data.get("intent_ranking") or []:
        intent = ranked.get("name")
        if not intent or intent in NOT_SUGGESTED or ranked.get("confidence", 0) < MIN_SUGGESTION_CONFIDENCE:
            continue
        if intent == "faq":
            key = (
                parse_data.get("response_selector", {})
                .get("faq", {})
                .get("response", {})
                .get("intent_response_key")
            )
            if key:
                found.append((f"/{key}", "utter_label_faq_" + key.split("/", 1)[1]))
        else:
            found.append((f"/{intent}", f"utter_label_{intent}"))
    return found


class ActionDefaultAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = []
        for payload, label in suggestions(tracker.latest_message):
            title = localized_text(domain, label, language)
            if title:
                buttons.append({"title": title, "payload": payload})
            if len(buttons) == MAX_SUGGESTIONS:
                break
        if not buttons:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        none_of_these = localized_text(domain, "utter_label_none_of_these", language)
        if none_of_these:
            buttons.append({"title": none_of_these, "payload": "/out_of_scope"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []


class ActionDefaultAskRephrase(Action):
    """The second stage: asks to rephrase, or, when the first stage could only ask that already
    (nothing likely to offer), offers a person or the menu instead of the same question again."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asked_already = last_bot_response(tracker) == "utter_ask_rephrase"
        dispatcher.utter_message(response="utter_default" if asked_already else "utter_ask_rephrase")
        return []
