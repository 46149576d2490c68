"""Rasa restarts in the middle of a walkthrough on the widget.

While it is away, the person's messages are kept and they hear so in their language; once Rasa is
back (its model loaded), the channel service answers them in order, without the person writing
again. The walkthrough goes on from the step it was at: Rasa reads the conversation back from its
SQL tracker store. Last in the session: Rasa takes the longest to start.
"""

from channels.texts import notice
from tests.faults.records import user_events_of
from tests.support.stack import tracker
from tests.support.telegram_chat import response


def test_the_walkthrough_goes_on_after_rasa_restarts_with_nothing_lost(stack, widget, store):
    person = widget("en")
    steps = [response(f"utter_get_pesel_step_{n}", "en")["text"] for n in (1, 2, 3, 4)]
    next_step = response("utter_get_pesel_step_1", "en")["buttons"][0]["title"]  # its payload: /affirm
    person.say("how can I get a PESEL number?", wait=False)
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == steps[:1])
    person.press(next_step, wait=False)
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == steps[:2])

    stack.stop("rasa")
    try:
        kept = notice("kept_for_later", "en")
        person.press(next_step, wait=False)
        person.wait_until(lambda: [m["text"] for m in person.shown("system")] == [kept], 30, "the notice")
        person.press(next_step, wait=False)
        person.wait_until(lambda: [m["text"] for m in person.shown("system")] == [kept] * 2, 30, "the notice")
    finally:
        stack.start("rasa")

    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == steps, 120, "steps 3 and 4")
    assert [m["author"] for m in person.shown()] == [
        *("user", "bot", "user", "bot"),
        *("user", "system", "user", "system"),
        *("bot", "bot"),
    ]
    assert [(m.author, m.text) for m in store.messages(person.conversation_id)] == [
        (m["author"], m["text"]) for m in person.shown()
    ]
    assert store.waiting_for_bot(person.conversation_id) == []

    conversation = tracker(stack, person.conversation_id)
    # From before the restart, from the SQL tracker store:
    assert any(
        e["event"] == "user" and e["text"] == "how can I get a PESEL number?" for e in conversation["events"]
    )
    kept_ids = [m.id for m in store.messages(person.conversation_id) if m.author == "user"][2:]
    assert [len(user_events_of(conversation, i)) for i in kept_ids] == [1, 1]
    assert conversation["slots"]["guide"] == "get_pesel"
    assert conversation["slots"]["step"] == 4
