"""What the account forms share: counting refused answers, ending early, forgetting values.

A form ends early by setting `account_outcome` (too many refused answers, the backend down,
rate limited, …); its submit action then says what happened. Raw personal data never stays
in a slot: once used, a value is replaced by its masked form or forgotten.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.backend import Backend, Refused
from actions.validation import Invalid

MAX_REFUSALS = 3
FORM_SLOTS = (
    "pesel",
    "verification_code",
    "verification_id",
    "email",
    "username",
    "onboarding",
    "account_outcome",
    "form_refusals",
)


def caller_of(tracker: Tracker) -> str:
    """The conversation, as the backend's rate limits know it (not the channel's raw id)."""
    return hashlib.sha256(tracker.sender_id.encode()).hexdigest()[:32]


def forget_form_values() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def leave_form(tracker: Tracker) -> list[EventType]:
    """Leave the form in progress, forgetting what it was given (nothing if no form is active)."""
    if not tracker.active_loop.get("name"):
        return []
    return [ActiveLoop(None), SlotSet("requested_slot", None), *forget_form_values()]


def refused_outcome(error: Refused) -> str:
    """The outcome a refusal of the backend ends a form with."""
    return {
        "rate_limited": "rate_limited",
        "invalid_code": "locked",  # reached only when no attempt is left
        "verification_locked": "locked",
        "verification_expired": "expired",
        "verification_not_found": "expired",
    }.get(error.code, "unavailable")


# What the person is told when a form ends early; each form adds its own "unavailable" answer.
EARLY_ENDINGS = {
    "too_many_tries": ["utter_too_many_tries"],
    "rate_limited": ["utter_rate_limited"],
    "locked": ["utter_code_locked"],
    "expired": ["utter_code_expired"],
}


class AccountForm(FormValidationAction):
    """Base of the account forms' validation actions."""

    @property
    def backend(self) -> Backend:
        return Backend.from_environment()

    @abstractmethod
    def name(self) -> str: ...

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return [] if tracker.get_slot("account_outcome") else domain_slots

    async def checked(
        self,
        slot: str,
        value: Any,
        clean: Callable[[str], str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        use: Callable[[str], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """`use` the cleaned value; a value `clean` refuses is asked again with the reason, and
        after the last allowed try the form ends."""
        try:
            cleaned = clean(str(value))
        except Invalid as invalid:
            refusals = int(tracker.get_slot("form_refusals") or 0) + 1
            if refusals >= MAX_REFUSALS:
                return {slot: None, "form_refusals": float(refusals), "account_outcome": "too_many_tries"}
            dispatcher.utter_message(response=invalid.response)
            return {slot: None, "form_refusals": float(refusals)}
        return await use(cleaned)


class ActionLeaveForm(Action):
    """Leave the form in progress, if any (after "bye", or when a person is asked for)."""

    def name(self) -> str:
        return "action_leave_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return leave_form(tracker)
