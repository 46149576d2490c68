import asyncio
import datetime as dt
import itertools

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionDefaultAskAffirmation, ActionDefaultAskRephrase
from actions.language import ActionSessionStart, ActionSwitchLanguage, language_hint
from actions.recovery import OUTCOME_RESPONSES as RECOVERY
from actions.report import status_report
from actions.status import OUTCOME_RESPONSES as STATUS
from actions.texts import LANGUAGES, localized_text
from actions.walkthrough import ActionWalkthrough, last_bot_response


def tracker(slots=None, events=None, message=None) -> Tracker:
    message = message or {"intent": {"name": "greet"}, "entities": [], "text": "hi"}
    return Tracker("someone", slots or {}, message, events or [], False, None, {}, "action_listen")


def run(action, tracker_, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, domain))
    return dispatcher.messages, events


def user(intent):
    return {"event": "user", "text": intent, "parse_data": {"intent": {"name": intent}}}


def bot(response):
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def test_last_bot_response_is_the_one_before_the_latest_user_message():
    events = [bot("utter_greet"), user("get_pesel"), bot("utter_get_pesel_step_1"), user("affirm")]
    assert last_bot_response(tracker(events=events)) == "utter_get_pesel_step_1"
    assert last_bot_response(tracker(events=[user("greet")])) is None


def test_walkthrough_advances_and_sets_the_position(domain):
    events = [user("get_pesel"), bot("utter_get_pesel_step_1"), user("affirm")]
    t = tracker({"guide": "get_pesel", "step": 1.0}, events, {"intent": {"name": "affirm"}, "entities": []})
    messages, slot_events = run(ActionWalkthrough(), t, domain)
    assert [m["response"] for m in messages] == ["utter_get_pesel_step_2"]
    assert {e["name"]: e["value"] for e in slot_events} == {
        "guide": "get_pesel",
        "step": 2.0,
        "return_to": None,
        "walkthrough": {"guide": "get_pesel", "step": 2, "shown": "step"},
    }


@pytest.mark.parametrize("intent", ["cancel", "deny", "step_back"])
@pytest.mark.parametrize(("guide", "after"), [(None, []), ("ikp_login", ["utter_offer_continue"])])
def test_a_cancel_in_words_leaves_the_form_and_offers_the_interrupted_walkthrough(
    domain, intent, guide, after
):
    slots = {"guide": guide, "step": 3.0 if guide else None, "requested_slot": "pesel"}
    message = {"intent": {"name": intent}, "entities": [], "text": "…"}
    t = Tracker("someone", slots, message, [], False, None, {"name": "check_status_form"}, "action_listen")
    messages, events = run(ActionWalkthrough(), t, domain)
    assert [m["response"] for m in messages] == ["utter_form_cancelled", *after]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


def suggestion_parse() -> dict:
    return {
        "intent": {"name": "nlu_fallback"},
        "entities": [],
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 1.0},
            {"name": "forgot_password", "confidence": 0.45},
            {"name": "out_of_scope", "confidence": 0.44},
            {"name": "faq", "confidence": 0.43},
            {"name": "ikp_login", "confidence": 0.31},
            {"name": "get_pesel", "confidence": 0.29},
        ],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/ikp_cost"}}},
    }


@pytest.mark.parametrize("language", ["uk", "pl", "en", "ru"])
def test_did_you_mean_offers_the_likeliest_intents_in_the_conversation_language(domain, language):
    t = tracker({"language": language}, message=suggestion_parse())
    messages, _ = run(ActionDefaultAskAffirmation(), t, domain)
    [message] = messages
    assert message["response"] == "utter_did_you_mean"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/forgot_password", "/faq/ikp_cost", "/ikp_login", "/out_of_scope"]
    titles = [b["title"] for b in message["buttons"]]
    expected = [
        v["text"]
        for v in domain["responses"]["utter_label_forgot_password"]
        if v["condition"][0]["value"] == language
    ]
    assert titles[0] == expected[0]
    assert all(titles)


@pytest.mark.parametrize(
    "ranking",
    [
        [{"name": "out_of_scope", "confidence": 0.9}],
        # unreadable text ranks everything low: no guess is offered
        [{"name": "switch_language", "confidence": 0.29}, {"name": "faq", "confidence": 0.2}],
    ],
)
def test_did_you_mean_without_likely_candidates_asks_to_rephrase(domain, ranking):
    parse = {"intent": {"name": "nlu_fallback"}, "entities": [], "intent_ranking": ranking}
    messages, _ = run(ActionDefaultAskAffirmation(), tracker(message=parse), domain)
    assert [m["response"] for m in messages] == ["utter_ask_rephrase"]


@pytest.mark.parametrize(
    ("before", "response"),
    [("utter_did_you_mean", "utter_ask_rephrase"), ("utter_ask_rephrase", "utter_default")],
)
def test_rephrase_is_not_asked_twice_in_a_row(domain, before, response):
    events = [user("nlu_fallback"), bot(before), user("nlu_fallback")]
    messages, _ = run(ActionDefaultAskRephrase(), tracker(events=events), domain)
    assert [m["response"] for m in messages] == [response]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"language": "pl-PL"}, "pl"),
        ({"language": "en_GB"}, "en"),
        ({"language": "RU"}, "ru"),
        ({"language": "de"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_language_hint(metadata, expected):
    assert language_hint(metadata) == expected


def test_first_session_takes_the_channel_hint(domain):
    t = tracker({"language": "uk", "session_started_metadata": {"language": "pl"}})
    _, events = run(ActionSessionStart(), t, domain)
    assert {"event": "slot", "name": "language", "value": "pl"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_the_session_keeps_its_metadata_after_the_slots_are_reset(domain):
    metadata = {"language": "pl", "channel": "telegram"}
    _, events = run(ActionSessionStart(), tracker({"session_started_metadata": metadata}), domain)
    kinds = [(e["event"], e.get("name")) for e in events]
    assert kinds.index(("slot", "session_started_metadata")) > kinds.index(("session_started", None))
    assert {"event": "slot", "name": "session_started_metadata", "value": metadata} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_a_later_session_keeps_the_chosen_language(domain):
    chosen = [{"event": "slot", "name": "language", "value": "ru"}]
    t = tracker({"language": "ru", "session_started_metadata": {"language": "pl"}}, events=chosen)
    _, events = run(ActionSessionStart(), t, domain)
    languages = [e["value"] for e in events if e.get("name") == "language"]
    assert languages == ["ru"]


def test_switching_language_mid_walkthrough_repeats_the_step(domain):
    message = {"intent": {"name": "switch_language"}, "entities": [{"entity": "language", "value": "en"}]}
    t = tracker({"language": "en", "guide": "ikp_login", "step": 3.0}, message=message)
    messages, _ = run(ActionSwitchLanguage(), t, domain)
    assert [m["response"] for m in messages] == ["utter_language_switched", "utter_ikp_login_step_3"]


def test_a_switch_without_a_named_language_asks_which(domain):
    detected_only = {"entity": "language", "role": "detected", "value": "uk"}
    message = {"intent": {"name": "switch_language"}, "entities": [detected_only]}
    messages, _ = run(ActionSwitchLanguage(), tracker(message=message), domain)
    assert [m["response"] for m in messages] == ["utter_choose_language"]


def test_every_response_the_account_actions_say_exists_in_each_language(domain):
    """status.py builds its message from response names: a missing one would be a blank line."""
    names = {n for responses in (*STATUS.values(), *RECOVERY.values()) for n in responses}
    for ukr, state, contacts in itertools.product(
        ("active", "lost", "none"), ("none", "pending_confirmation", "active", "expired"), (True, False)
    ):
        for expires_on in ("2026-12-01", "2028-01-01"):
            record = {
                "pesel_assigned_on": "2022-03-20",
                "ukr_status": ukr,
                "trusted_profile": {"state": state, "expires_on": expires_on},
                "ikp_contact_details_set": contacts,
            }
            report = status_report(record, dt.date(2026, 11, 22))
            names |= {name for name, _ in report.lines}
            names |= {f"utter_label_{intent}" for intent in report.next_intents}
    names.add("utter_label_menu")
    missing = [(n, lang) for n in sorted(names) for lang in LANGUAGES if not localized_text(domain, n, lang)]
    assert missing == []
