"""What the account forms share: counting refused answers, ending early, forgetting values.

A form ends early by setting `account_outcome` (too many refused answers, the backend down,
rate limited, …); its submit action then says what happened. Raw personal data never stays
in a slot: once used, a value is replaced by its masked form or forgotten.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.backend import Refused, backend
from actions.validation import Invalid
from common.backend_client import BackendClient

MAX_REFUSALS = 3


class FormOutcome(StrEnum):
    """How an account form ended: the `account_outcome` slot (stored as its string)."""

    VERIFIED = "verified"  # the status check opened the record
    SENT = "sent"  # the backend took a recovery request
    UNAVAILABLE = "unavailable"  # the backend is down or answered an error
    TOO_MANY_TRIES = "too_many_tries"  # MAX_REFUSALS values refused
    RATE_LIMITED = "rate_limited"
    LOCKED = "locked"  # no code attempt left
    EXPIRED = "expired"  # the verification expired or is unknown


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


def refused_outcome(error: Refused) -> FormOutcome:
    """The outcome a refusal of the backend (its error code) ends a form with."""
    return {
        "rate_limited": FormOutcome.RATE_LIMITED,
        "invalid_code": FormOutcome.LOCKED,  # reached only when no attempt is left
        "verification_locked": FormOutcome.LOCKED,
        "verification_expired": FormOutcome.EXPIRED,
        "verification_not_found": FormOutcome.EXPIRED,
    }.get(error.code, FormOutcome.UNAVAILABLE)


# What the person is told when a form ends early; each form adds its own "unavailable" answer.
EARLY_ENDINGS: dict[FormOutcome, list[str]] = {
    FormOutcome.TOO_MANY_TRIES: ["utter_too_many_tries"],
    FormOutcome.RATE_LIMITED: ["utter_rate_limited"],
    FormOutcome.LOCKED: ["utter_code_locked"],
    FormOutcome.EXPIRED: ["utter_code_expired"],
}


class AccountForm(FormValidationAction):
    """Base of the account forms' validation actions."""

    @property
    def backend(self) -> BackendClient:
        """The action server's one client (actions/backend.py)."""
        return backend()

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
                return {
                    slot: None,
                    "form_refusals": float(refusals),
                    "account_outcome": FormOutcome.TOO_MANY_TRIES,
                }
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
