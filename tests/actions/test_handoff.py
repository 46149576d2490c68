"""The handoff action against the real backend: a ticket, a word to the person, then silence."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionDefaultFallback, ActionHandoff, helpdesk_open

WARSAW = ZoneInfo("Europe/Warsaw")


def tracker(sender: str, language: str, channel: str | None = "web", form: str | None = None) -> Tracker:
    message = {"intent": {"name": "human_handoff"}, "entities": [], "text": "a person please"}
    events = [{"event": "user", "text": "a person please", "parse_data": message}]
    active_loop = {"name": form} if form else {}
    slots = {
        "language": language,
        "requested_slot": "pesel" if form else None,
        "session_started_metadata": {"channel": channel} if channel else None,
    }
    return Tracker(sender, slots, message, events, False, None, active_loop, "action_listen")


def run(action, sender: str, language: str = "pl", **kwargs) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(sender, language, **kwargs), {}))
    return events, dispatcher.messages


def tickets(backend: str) -> list[dict]:
    headers = {"X-Service-Token": "dev-service-token"}
    return httpx.get(f"{backend}/v1/tickets", headers=headers).json()["tickets"]


def test_asking_for_a_person_opens_a_ticket_and_pauses_the_bot(backend):
    events, messages = run(ActionHandoff(), "handoff-1", "pl", form="check_status_form")
    [ticket] = [t for t in tickets(backend) if t["conversation_id"] == "handoff-1"]
    assert (ticket["channel"], ticket["language"], ticket["reason"]) == ("web", "pl", "requested")
    assert messages[0]["response"] == "utter_handoff_opened"
    assert messages[-1]["custom"] == {"handoff": {"ticket_id": ticket["id"], "language": "pl"}}
    assert events[-1] == {"event": "pause", "timestamp": None}
    # The form in progress is left, so that it does not resume under the helpdesk's answers.
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


def test_asking_twice_keeps_one_ticket(backend):
    run(ActionHandoff(), "handoff-2")
    run(ActionHandoff(), "handoff-2")
    assert len([t for t in tickets(backend) if t["conversation_id"] == "handoff-2"]) == 1


def test_repeated_fallbacks_offer_a_person_without_opening_a_ticket(backend):
    events, messages = run(ActionDefaultFallback(), "handoff-3", "uk", channel=None)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert [e["event"] for e in events] == ["rewind"]  # not paused: the bot goes on answering
    assert not [t for t in tickets(backend) if t["conversation_id"] == "handoff-3"]


def test_without_the_backend_the_person_gets_the_phone_numbers(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    events, messages = run(ActionHandoff(), "handoff-4")
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]
    assert not any(e["event"] == "pause" for e in events)


def test_the_helpdesk_keeps_warsaw_office_hours():
    assert helpdesk_open(datetime(2026, 11, 23, 8, 0, tzinfo=WARSAW))  # Monday
    assert not helpdesk_open(datetime(2026, 11, 23, 18, 0, tzinfo=WARSAW))
    assert not helpdesk_open(datetime(2026, 11, 22, 12, 0, tzinfo=WARSAW))  # Sunday
    # 7:30 in London is 8:30 in Warsaw.
    assert helpdesk_open(datetime(2026, 11, 27, 7, 30, tzinfo=ZoneInfo("Europe/London")))
