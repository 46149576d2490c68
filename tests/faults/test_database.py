"""The channel service's PostgreSQL becomes unreachable for a few seconds (every connection cut,
new ones refused) while a person writes on the widget: the message is answered once the database
is back, stored once, with no restart of anything."""

from tests.faults.records import transcript, user_events_of
from tests.support.stack import tracker
from tests.support.telegram_chat import response
from tests.support.waiting import wait_for


def test_a_message_written_while_the_database_is_away_is_answered_when_it_is_back(
    stack, widget, store, db_proxy
):
    person = widget("pl")
    person.say("Cześć", wait=False)
    greeting = response("utter_greet", "pl")["text"]
    get_pesel = response("utter_greet", "pl")["buttons"][0]["title"]  # its payload: /get_pesel
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == [greeting])

    db_proxy.cut()
    try:
        refused = db_proxy.refused
        person.press(get_pesel, wait=False)
        wait_for(lambda: db_proxy.refused > refused + 2, 30, "the service to find the database away")
    finally:
        db_proxy.restore()

    step_1 = response("utter_get_pesel_step_1", "pl")["text"]
    person.wait_until(lambda: person.shown("bot")[-1]["text"] == step_1, 60, "the first step")
    assert [(m["author"], m["text"]) for m in person.shown()] == [
        ("user", "Cześć"),
        ("bot", greeting),
        ("user", get_pesel),
        ("bot", step_1),
    ]
    assert transcript(store, person.conversation_id) == [(m["author"], m["text"]) for m in person.shown()]
    assert store.waiting_for_bot(person.conversation_id) == []
    [_, pressed] = [m for m in store.messages(person.conversation_id) if m.author == "user"]
    assert len(user_events_of(tracker(stack, person.conversation_id), pressed.id)) == 1
