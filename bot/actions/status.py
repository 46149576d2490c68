"""`check_status`: verify the person with a one-time code, then tell them where they stand."""

from __future__ import annotations

import datetime as dt
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
from actions.report import status_report
from actions.texts import language_of, localized_text
from actions.validation import clean_code, clean_pesel
from actions.walkthrough import position_of
from common.pii import pesel_for_record

OUTCOME_RESPONSES: dict[FormOutcome, list[str]] = {
    **EARLY_ENDINGS,
    FormOutcome.UNAVAILABLE: ["utter_account_service_unavailable", "utter_check_status_manual"],
}
MASKED_CODE = "••••••"


class ValidateCheckStatusForm(AccountForm):
    def name(self) -> str:
        return "validate_check_status_form"

    async def validate_pesel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def start_verification(pesel: str) -> dict[str, Any]:
            try:
                verification = await self.backend.start_verification(pesel, caller_of(tracker))
            except Unavailable:
                return {"pesel": pesel_for_record(pesel), "account_outcome": FormOutcome.UNAVAILABLE}
            except Refused as error:
                return {"pesel": pesel_for_record(pesel), "account_outcome": refused_outcome(error)}
            return {"pesel": pesel_for_record(pesel), "verification_id": verification.verification_id}

        return await self.checked("pesel", value, clean_pesel, dispatcher, tracker, start_verification)

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def open_record(code: str) -> dict[str, Any]:
            try:
                token = await self.backend.confirm_verification(tracker.get_slot("verification_id"), code)
                onboarding = await self.backend.onboarding(token)
            except Unavailable:
                return {"verification_code": MASKED_CODE, "account_outcome": FormOutcome.UNAVAILABLE}
            except Refused as error:
                attempts_left = int(error.details.get("attempts_left") or 0)
                if error.code == "invalid_code" and attempts_left > 0:
                    dispatcher.utter_message(response="utter_code_wrong", attempts_left=attempts_left)
                    return {"verification_code": None}
                return {"verification_code": MASKED_CODE, "account_outcome": refused_outcome(error)}
            # The first name is not needed for the answer; keep the record lean.
            return {
                "verification_code": MASKED_CODE,
                "onboarding": onboarding.model_dump(mode="json", exclude={"first_name"}),
                "account_outcome": FormOutcome.VERIFIED,
            }

        return await self.checked("verification_code", value, clean_code, dispatcher, tracker, open_record)


class ActionReportStatus(Action):
    """After the form: the person's status and next step, or why the check could not be done."""

    def name(self) -> str:
        return "action_report_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        outcome = tracker.get_slot("account_outcome")
        if outcome == FormOutcome.VERIFIED and tracker.get_slot("onboarding"):
            language = language_of(tracker)
            report = status_report(tracker.get_slot("onboarding"), dt.date.today())
            text = "\n".join(
                (localized_text(domain, response, language) or "").format(**values)
                for response, values in report.lines
            )
            buttons = [
                {"title": localized_text(domain, f"utter_label_{intent}", language), "payload": f"/{intent}"}
                for intent in report.next_intents
            ]
            buttons.append(
                {"title": localized_text(domain, "utter_label_menu", language), "payload": "/greet"}
            )
            dispatcher.utter_message(text=text, buttons=buttons)
        else:
            for response in OUTCOME_RESPONSES.get(outcome, OUTCOME_RESPONSES[FormOutcome.UNAVAILABLE]):
                dispatcher.utter_message(response=response)
        if position_of(tracker).guide:  # the check interrupted a walkthrough
            dispatcher.utter_message(response="utter_offer_continue")
        return forget_form_values()
