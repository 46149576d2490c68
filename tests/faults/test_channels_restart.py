"""The channel service crashes (SIGKILL) while two people's messages are on their way to Rasa:
one reached Rasa (whose answer then had nobody to go to), the other never did.

The first person gets the answer Rasa gave, read back from its tracker, once; Rasa did not get
the message twice. The second is asked to send their message again (its text waited in memory
only, as personal data must not be stored unmasked), and the conversation goes on. Telegram's own
errors and flood limits are tested in tests/channels (test_telegram_delivery.py,
test_telegram_polling.py), a graceful restart with messages waiting for Telegram too.
"""

from channels.texts import notice
from tests.faults.records import transcript, user_events_of
from tests.support.stack import tracker
from tests.support.telegram_chat import Chat, response
from tests.support.waiting import wait_for

CHAT = 5200003
GET_PESEL = response("utter_greet", "ru")["buttons"][0]["title"]  # its payload: /get_pesel
NEXT = response("utter_get_pesel_step_1", "en")["buttons"][0]["title"]  # its payload: /affirm


def turns_held(rasa_proxy) -> list[bytes]:
    """The held requests that are turns (the retry loop's readiness checks are held too)."""
    return [request for request in rasa_proxy.kept() if b"/webhooks/rest/webhook" in request]


def test_turns_cut_off_by_a_crash_are_answered_once_or_asked_again(
    stack, telegram, widget, store, rasa_proxy
):
    chat = Chat(telegram, CHAT, language_code="ru")
    chat.say("/start")
    chat.expect("utter_greet", language="ru")
    visitor = widget("en")
    visitor.say("how can I get a PESEL number?", wait=False)
    step_1 = response("utter_get_pesel_step_1", "en")["text"]
    visitor.wait_until(lambda: [m["text"] for m in visitor.shown("bot")] == [step_1])

    rasa_proxy.hold()
    try:
        chat.press(GET_PESEL)
        visitor.press(NEXT, wait=False)
        wait_for(lambda: len(turns_held(rasa_proxy)) == 2, 60, "both turns on their way to Rasa")
        stack.kill("channels")
    finally:
        rasa_proxy.release(lambda request: f"telegram-{CHAT}".encode() in request)
        rasa_proxy.drop()  # the visitor's turn: never reached Rasa
    [pressed] = [m for m in store.messages(f"telegram-{CHAT}") if m.author == "user"][1:]
    wait_for(lambda: user_events_of(tracker(stack, f"telegram-{CHAT}"), pressed.id), 60, "Rasa's turn")
    stack.start("channels")

    # Taken up once no instance of the service can still be working on them (45 s here).
    chat.expect("utter_get_pesel_step_1", language="ru", timeout=120)
    visitor.wait_until(lambda: visitor.shown("system"), 60, "the notice")
    assert [m["text"] for m in visitor.shown("system")] == [notice("send_again", "en")]
    visitor.press(NEXT, wait=False)
    step_2 = response("utter_get_pesel_step_2", "en")["text"]
    visitor.wait_until(lambda: visitor.shown("bot")[-1]["text"] == step_2)

    # Several rounds of the retry loops later, nothing came twice.
    assert len(chat.new()) == 1
    assert len(user_events_of(tracker(stack, f"telegram-{CHAT}"), pressed.id)) == 1
    assert [author for author, _ in transcript(store, f"telegram-{CHAT}")] == ["user", "bot", "user", "bot"]
    assert [(m["author"], m["text"]) for m in visitor.shown()][1:] == [
        ("bot", step_1),
        ("user", NEXT),
        ("system", notice("send_again", "en")),
        ("user", NEXT),
        ("bot", step_2),
    ]
    assert store.waiting_for_bot(visitor.conversation_id) == []
