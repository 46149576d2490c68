"""Username reminders and password resets through the account backend.

Both are answered the same way whether or not an account matches: the backend never says,
and neither does the bot.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import Refused, Unavailable
from actions.forms import (
    EARLY_ENDINGS,
    AccountForm,
    FormOutcome,
    caller_of,
    forget_form_values,
    refused_outcome,
)
from actions.sealing import seal, unseal
from actions.validation import clean_email, clean_pesel, clean_username
from common.pii import email_for_record, pesel_for_record

OUTCOME_RESPONSES: dict[FormOutcome, list[str]] = {
    **EARLY_ENDINGS,
    FormOutcome.SENT: ["utter_recovery_requested"],
    FormOutcome.UNAVAILABLE: ["utter_account_service_unavailable", "utter_recovery_manual"],
}


async def outcome_of(request: Coroutine[Any, Any, None]) -> FormOutcome:
    try:
        await request
    except Unavailable:
        return FormOutcome.UNAVAILABLE
    except Refused as error:
        return refused_outcome(error)
    return FormOutcome.SENT


class ValidateUsernameReminderForm(AccountForm):
    def name(self) -> str:
        return "validate_username_reminder_form"

    async def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def request_reminder(email: str) -> dict[str, Any]:
            outcome = await outcome_of(self.backend.request_username_reminder(email, caller_of(tracker)))
            return {"email": email_for_record(email), "account_outcome": outcome}

        return await self.checked("email", value, clean_email, dispatcher, tracker, request_reminder)


class ValidatePasswordResetForm(AccountForm):
    def name(self) -> str:
        return "validate_password_reset_form"

    async def validate_username(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def keep(username: str) -> dict[str, Any]:
            # Needed with the PESEL on the next turn; the saved record would mask an e-mail.
            return {"username": seal(username)}

        return await self.checked("username", value, clean_username, dispatcher, tracker, keep)

    async def validate_pesel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def request_reset(pesel: str) -> dict[str, Any]:
            username = unseal(tracker.get_slot("username"))
            if username is None:
                return {"pesel": pesel_for_record(pesel), "account_outcome": FormOutcome.UNAVAILABLE}
            request = self.backend.request_password_reset(username, pesel, caller_of(tracker))
            return {"pesel": pesel_for_record(pesel), "account_outcome": await outcome_of(request)}

        return await self.checked("pesel", value, clean_pesel, dispatcher, tracker, request_reset)


class ActionRecoveryRequested(Action):
    """After either recovery form: the same answer whatever the backend found."""

    def name(self) -> str:
        return "action_recovery_requested"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        outcome = tracker.get_slot("account_outcome") or FormOutcome.UNAVAILABLE
        for response in OUTCOME_RESPONSES.get(outcome, OUTCOME_RESPONSES[FormOutcome.UNAVAILABLE]):
            dispatcher.utter_message(response=response)
        return forget_form_values()
