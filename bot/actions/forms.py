"""What the account forms share: counting refused answers, ending early, forgetting values.

A form ends early by setting `account_outcome` (too many refused answers, the backend down,
rate limited, …); its submit action then says what happened. Raw personal data never stays
in a slot: once used, a value is replaced by its masked form or forgotten.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
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


def leave_form() -> list[EventType]:
    return [ActiveLoop(None), SlotSet("requested_slot", None), *forget_form_values()]


def refused_outcome(error: Refused) -> str:
    """The outcome a refusal of the backend ends a form with."""
    return {
        "rate_limited": "rate_limited",
        "verification_locked": "locked",
        "verification_expired": "expired",
        "verification_not_found": "expired",
    }.get(error.code, "unavailable")


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

    def refuse(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, invalid: Invalid
    ) -> dict[str, Any]:
        """Re-ask with the reason, or end the form after the last allowed try."""
        refusals = int(tracker.get_slot("form_refusals") or 0) + 1
        if refusals >= MAX_REFUSALS:
            return {slot: None, "form_refusals": float(refusals), "account_outcome": "too_many_tries"}
        dispatcher.utter_message(response=invalid.response)
        return {slot: None, "form_refusals": float(refusals)}


class ActionLeaveForm(Action):
    """Leave the form in progress, if any (after "bye", or when a person is asked for)."""

    def name(self) -> str:
        return "action_leave_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return leave_form() if tracker.active_loop.get("name") else []
