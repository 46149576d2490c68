"""The account forms' actions talking to the real backend over HTTP."""

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.recovery import ActionRecoveryRequested, ValidateUsernameReminderForm
from actions.status import ActionReportStatus, ValidateCheckStatusForm
from scripts import mailbox

OLENA = ("85070312345", "olena.kovalenko@example.org")


def form_tracker(sender: str, slots: dict, text: str, form: str = "check_status_form") -> Tracker:
    message = {"intent": {"name": "inform"}, "entities": [], "text": text}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, slots, message, events, False, None, {"name": form}, "action_listen")


def validate(action, sender: str, slot: str, value: str, slots: dict | None = None):
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(sender, {**(slots or {}), slot: value, "requested_slot": slot}, value)
    method = getattr(action, f"validate_{slot}")
    return asyncio.run(method(value, dispatcher, tracker, {})), dispatcher.messages


def test_a_known_and_an_unknown_pesel_get_the_same_treatment():
    known, _ = validate(ValidateCheckStatusForm(), "a1", "pesel", OLENA[0])
    unknown, _ = validate(ValidateCheckStatusForm(), "a2", "pesel", "65063007894")
    assert set(known) == set(unknown) == {"pesel", "verification_id"}
    assert known["pesel"] == "•••••••••45" and unknown["pesel"] == "•••••••••94"


def test_the_code_from_the_mailbox_opens_the_record(backend, domain):
    seen = {m["id"] for m in mailbox.messages(backend, OLENA[1])}
    started, _ = validate(ValidateCheckStatusForm(), "b1", "pesel", OLENA[0])
    code = mailbox.new_code(backend, OLENA[1], seen)
    slots = {"verification_id": started["verification_id"], "pesel": started["pesel"]}
    confirmed, messages = validate(ValidateCheckStatusForm(), "b1", "verification_code", code, slots)
    assert messages == []
    assert confirmed["account_outcome"] == "verified"
    record = confirmed["onboarding"]
    assert record["trusted_profile"] == {"state": "active", "expires_on": "2027-01-10"}
    assert "first_name" not in record

    dispatcher = CollectingDispatcher()
    tracker = form_tracker("b1", {**slots, **confirmed, "language": "pl"}, code)
    events = asyncio.run(ActionReportStatus().run(dispatcher, tracker, domain))
    [message] = dispatcher.messages
    assert "10.01.2027" in message["text"] and "20.03.2022" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/get_trusted_profile", "/greet"]
    assert {e["name"] for e in events} >= {"pesel", "verification_id", "onboarding", "account_outcome"}
    assert all(e["value"] is None for e in events)


def test_a_wrong_code_is_counted_down_by_the_backend():
    started, _ = validate(ValidateCheckStatusForm(), "c1", "pesel", "04312609878")
    slots = {"verification_id": started["verification_id"]}
    result, messages = validate(ValidateCheckStatusForm(), "c1", "verification_code", "000000", slots)
    assert result == {"verification_code": None}
    assert messages[0]["response"] == "utter_code_wrong" and messages[0]["attempts_left"] == 2


def test_too_many_starts_for_one_pesel_end_the_form_as_rate_limited():
    outcomes = [
        validate(ValidateCheckStatusForm(), f"d{i}", "pesel", "44051401458")[0].get("account_outcome")
        for i in range(4)
    ]
    assert outcomes == [None, None, None, "rate_limited"]


def test_a_backend_that_is_down_ends_the_form_with_a_clear_outcome(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    result, messages = validate(ValidateCheckStatusForm(), "e1", "pesel", OLENA[0])
    assert result["account_outcome"] == "unavailable"
    assert result["pesel"] == "•••••••••45"


def test_a_username_reminder_reads_the_same_for_anyone(domain):
    for address in ("olena.kovalenko@example.org", "nobody@example.org"):
        result, _ = validate(ValidateUsernameReminderForm(), "f1", "email", address, {})
        assert result["account_outcome"] == "sent"
        assert "@" in result["email"] and address not in result["email"]
        dispatcher = CollectingDispatcher()
        tracker = form_tracker("f1", {**result, "language": "en"}, address, "username_reminder_form")
        asyncio.run(ActionRecoveryRequested().run(dispatcher, tracker, domain))
        assert [m["response"] for m in dispatcher.messages] == ["utter_recovery_requested"]


def test_three_unusable_answers_end_the_form():
    form = ValidateCheckStatusForm()
    first, messages = validate(form, "g1", "pesel", "123")
    assert first == {"pesel": None, "form_refusals": 1.0}
    assert messages[0]["response"] == "utter_invalid_pesel_format"
    second, _ = validate(form, "g1", "pesel", "85070312346", {"form_refusals": 1.0})
    assert second == {"pesel": None, "form_refusals": 2.0}
    third, messages = validate(form, "g1", "pesel", "85070312346", {"form_refusals": 2.0})
    assert third["account_outcome"] == "too_many_tries" and messages == []
