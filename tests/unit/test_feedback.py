"""Feedback from people: when "did this help?" is asked (pure, navigation.py), what the actions
record in the tracker for the console's analytics, and the answer's replies."""

import pytest
from rasa_sdk import Tracker
from test_actions import bot, run, tracker, user

from actions.feedback import ActionAfterAnswer, ActionFeedback, faq_key
from actions.navigation import (
    Guides,
    Move,
    Position,
    feedback_after,
    feedback_due,
    guide_topic,
    shown,
    step_response,
    stuck_response,
)
from actions.walkthrough import ActionWalkthrough


@pytest.fixture(scope="module")
def guides() -> Guides:
    return Guides.load(offers=False)


def finish(guides: Guides, guide: str, return_to: str | None = None) -> Move:
    last = len(guides.steps(guide))
    return guides.move("affirm", Position(guide, last, return_to), step_response(guide, last))


def test_a_finished_guide_is_asked_about_once(guides):
    move = finish(guides, "get_pesel")
    assert move.finished == "get_pesel"
    assert feedback_after(move, None) == "guide:get_pesel"
    assert feedback_after(move, ["faq:ikp_cost"]) == "guide:get_pesel"
    assert feedback_after(move, ["guide:get_pesel"]) is None


def test_no_question_when_the_end_offers_to_resume_or_a_form(guides):
    resumed = finish(guides, "forgot_username", return_to="ikp_login:3")
    assert resumed.responses[-1] == "utter_ikp_login_resume"
    assert feedback_after(resumed, None) is None
    with_offer = finish(Guides.load(offers=True), "forgot_username")
    assert with_offer.responses[-1].startswith("utter_offer_")
    assert feedback_after(with_offer, None) is None


def test_no_question_in_the_middle_of_a_walkthrough(guides):
    step = guides.move("affirm", Position("get_pesel", 1), step_response("get_pesel", 1))
    stuck = guides.move("deny", Position("get_pesel", 2), step_response("get_pesel", 2))
    assert feedback_after(step, None) is None and feedback_after(stuck, None) is None


def test_feedback_is_never_due_in_a_form_or_twice():
    assert feedback_due("faq:ikp_cost", [])
    assert not feedback_due("faq:ikp_cost", ["faq:ikp_cost"])
    assert not feedback_due("faq:ikp_cost", [], in_form=True)
    assert not feedback_due("faq:ikp_cost", [], offered=True)


def test_what_a_move_showed_is_recorded_for_the_funnel(guides):
    step = guides.move("get_pesel", Position(), None)
    assert shown(step) == {"guide": "get_pesel", "step": 1, "shown": "step"}
    stuck = guides.move("help", Position("get_pesel", 2), step_response("get_pesel", 2))
    assert stuck.responses == [stuck_response("get_pesel", 2)]
    assert shown(stuck) == {"guide": "get_pesel", "step": 2, "shown": "stuck"}
    assert shown(finish(guides, "get_pesel")) == {"guide": "get_pesel", "step": None, "shown": "done"}
    assert shown(guides.move("greet", Position(), None)) is None


def slots_of(events: list) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_the_walkthrough_action_asks_at_the_end_and_records_the_topic(domain):
    last = len(Guides.load().steps("get_pesel"))
    message = {"intent": {"name": "affirm"}, "entities": []}
    events = [bot(step_response("get_pesel", last)), user("affirm")]
    t = tracker({"guide": "get_pesel", "step": float(last)}, events, message)
    messages, slot_events = run(ActionWalkthrough(), t, domain)
    assert [m["response"] for m in messages] == ["utter_get_pesel_done", "utter_ask_feedback"]
    slots = slots_of(slot_events)
    assert slots["topic"] == slots["feedback_topic"] == guide_topic("get_pesel")
    assert slots["feedback_asked"] == ["guide:get_pesel"]
    t = tracker(
        {"guide": "get_pesel", "step": float(last), "feedback_asked": ["guide:get_pesel"]}, events, message
    )
    messages, slot_events = run(ActionWalkthrough(), t, domain)
    assert [m["response"] for m in messages] == ["utter_get_pesel_done"]
    assert "feedback_topic" not in slots_of(slot_events)


def faq_message(key: str) -> dict:
    return {
        "intent": {"name": "faq"},
        "entities": [],
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{key}"}}},
    }


def test_an_faq_answer_is_asked_about_once(domain):
    messages, events = run(ActionAfterAnswer(), tracker(message=faq_message("ikp_cost")), domain)
    assert [m["response"] for m in messages] == ["utter_ask_feedback"]
    assert slots_of(events) == {
        "topic": "faq:ikp_cost",
        "feedback_topic": "faq:ikp_cost",
        "feedback_asked": ["faq:ikp_cost"],
    }
    again = tracker({"feedback_asked": ["faq:ikp_cost"]}, message=faq_message("ikp_cost"))
    messages, events = run(ActionAfterAnswer(), again, domain)
    assert messages == [] and slots_of(events) == {"topic": "faq:ikp_cost"}


def test_an_faq_answer_in_a_walkthrough_or_a_form_is_not_asked_about(domain):
    in_guide = tracker({"guide": "get_pesel", "step": 2.0}, message=faq_message("ikp_cost"))
    in_form = Tracker(
        "someone",
        {},
        faq_message("ikp_cost"),
        [],
        False,
        None,
        {"name": "check_status_form"},
        "action_listen",
    )
    for t in (in_guide, in_form):
        messages, events = run(ActionAfterAnswer(), t, domain)
        assert messages == [] and slots_of(events) == {"topic": "faq:ikp_cost"}


def test_faq_key_only_from_the_response_selector():
    assert faq_key(faq_message("what_is_ikp")) == "what_is_ikp"
    assert faq_key({"intent": {"name": "faq"}}) is None


def feedback_message(answer: str) -> dict:
    return {"intent": {"name": "feedback"}, "entities": [{"entity": "helpful", "value": answer}]}


@pytest.mark.parametrize(
    ("answer", "reply"), [("yes", "utter_feedback_thanks"), ("no", "utter_feedback_sorry")]
)
def test_the_answer_is_recorded_with_its_topic_once(domain, answer, reply):
    t = tracker({"feedback_topic": "guide:ikp_login"}, message=feedback_message(answer))
    messages, events = run(ActionFeedback(), t, domain)
    assert [m["response"] for m in messages] == [reply]
    assert slots_of(events) == {"feedback": f"{answer} guide:ikp_login", "feedback_topic": None}
    messages, events = run(ActionFeedback(), tracker(message=feedback_message(answer)), domain)
    assert [m["response"] for m in messages] == [reply] and events == []


@pytest.mark.parametrize("language", ["uk", "pl", "en", "ru"])
def test_a_no_offers_a_person_or_the_menu(domain, language):
    [variation] = [
        v
        for v in domain["responses"]["utter_feedback_sorry"]
        if any(c.get("value") == language for c in v.get("condition") or [])
    ]
    assert [b["payload"] for b in variation["buttons"]] == ["/human_handoff", "/greet"]
