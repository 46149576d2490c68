"""The action server stops in the middle of a form, and a new conversation starts meanwhile.

Rasa still answers while its action server is down, but every custom action's events are lost:
a form forgets the value it was given, a new conversation (whose session start is a custom action)
gets fallback after fallback. So the channel service checks the action server before a turn,
keeps the person's message and tells them so; the message is answered, once, when it is back.
"""

from channels.texts import notice
from tests.faults.records import transcript, user_events_of
from tests.support.stack import tracker
from tests.support.telegram_chat import Chat, response

PESEL = "04312609878"  # Andrii Melnyk, a demo person (backend/README.md)


def test_messages_wait_for_the_action_server_and_the_form_goes_on(stack, telegram, widget, store):
    chat = Chat(telegram, 5200001, language_code="pl")
    chat.say("sprawdź mój status")
    chat.expect("utter_ask_check_status_form_pesel", language="pl")

    stack.stop("actions")
    try:
        chat.say(PESEL)
        chat.expect_text(notice("kept_for_later", "pl"), timeout=30)
        # Someone else opens the widget meanwhile: their first message waits too.
        newcomer = widget("uk")
        newcomer.say("Привіт", wait=False)
        newcomer.wait_until(lambda: newcomer.shown("system"), 30, "the notice")
        assert [m["text"] for m in newcomer.shown("system")] == [notice("kept_for_later", "uk")]
        [(_, kept)] = store.waiting_for_bot("telegram-5200001")
        assert PESEL not in kept.text  # stored masked; the raw value waits in memory only
        assert user_events_of(tracker(stack, "telegram-5200001"), kept.id) == []  # Rasa never got it
    finally:
        stack.start("actions")

    # Nobody writes again: the kept messages are answered as soon as the action server is back.
    ask_code = response("utter_ask_verification_code", "pl")["text"]
    chat.expect_text(f"{notice('kept_for_later', 'pl')}\n\n{ask_code}", timeout=60)
    greeting = response("utter_greet", "uk")["text"]
    newcomer.wait_until(lambda: newcomer.shown("bot"), 60, "the greeting")
    assert [m["text"] for m in newcomer.shown()[1:]] == [notice("kept_for_later", "uk"), greeting]

    assert [author for author, _ in transcript(store, "telegram-5200001")] == [
        "user",
        "bot",
        "user",
        "system",
        "bot",
    ]
    assert store.waiting_for_bot("telegram-5200001") == []
    form = tracker(stack, "telegram-5200001")
    assert len(user_events_of(form, kept.id)) == 1  # sent to Rasa exactly once
    assert form["active_loop"]["name"] == "check_status_form"
    assert form["slots"]["requested_slot"] == "verification_code"
    # The newcomer's conversation has no trace of the outage: a session start and a greeting.
    events = tracker(stack, newcomer.conversation_id)["events"]
    assert [e["metadata"].get("utter_action") for e in events if e["event"] == "bot"] == ["utter_greet"]
