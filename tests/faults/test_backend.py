"""The account backend stops and starts again while a person checks their status on Telegram.

The actions answer with the manual way when the backend does not answer (tests/e2e/test_accounts.py
shows it on Rasa's own REST channel); here the person gets it on their channel, in their language,
and the form works again once the backend is back, with nobody restarting anything else.
"""

from tests.faults.records import transcript, user_events_of
from tests.support.stack import tracker
from tests.support.telegram_chat import Chat

PESEL = "85070312345"  # Olena Kovalenko, a demo person (backend/README.md)
CHECK_STATUS = "перевірте, будь ласка, мій статус"


def test_the_backend_stopping_gets_the_manual_way_and_its_return_the_form(stack, telegram, store):
    chat = Chat(telegram, 5200002, language_code="uk")
    chat.say(CHECK_STATUS)
    chat.expect("utter_ask_check_status_form_pesel", language="uk")

    stack.stop("backend")
    try:
        chat.say(PESEL)
        chat.expect("utter_account_service_unavailable", "utter_check_status_manual", language="uk")
    finally:
        stack.start("backend")

    chat.say(CHECK_STATUS)
    chat.expect("utter_ask_check_status_form_pesel", language="uk")
    chat.say(PESEL)
    chat.expect("utter_ask_verification_code", language="uk")

    stored = transcript(store, "telegram-5200002")
    assert [author for author, _ in stored] == [
        "user",
        "bot",
        "user",
        "bot",
        "bot",
        "user",
        "bot",
        "user",
        "bot",
    ]
    assert store.waiting_for_bot("telegram-5200002") == []
    events = tracker(stack, "telegram-5200002")
    users = [m for m in store.messages("telegram-5200002") if m.author == "user"]
    assert all(len(user_events_of(events, m.id)) == 1 for m in users)  # each once in Rasa
