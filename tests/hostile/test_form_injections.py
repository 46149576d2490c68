"""SQL and template injections in every form field of the bot (PESEL, e-mail, username), on the
widget and in Telegram: each is refused with the form's reason and asked again, stored verbatim,
and the databases are intact afterwards."""

from __future__ import annotations

import sqlite3

import pytest

from knowledge.build import load as load_knowledge
from tests.support.stack import tracker, user_events
from tests.support.telegram_chat import response

# Values a form asks again for, with the reason it refuses them.
VALUE_LIKE = ["1' OR '1'='1", "{{7*7}}", "${7*7}", "{% print(7*7) %}"]
# Injections with words in them, which the NLU may read as something else than the form's answer
# (the trained model reads "DROP TABLE" as goodbye, which leaves the form, and "<script>" as a
# question it answers before asking again): whatever it makes of them, the field stays empty.
WORD_LIKE = ["'; DROP TABLE conversations;--", "<script>alert(1)</script>"]
INJECTIONS = VALUE_LIKE + WORD_LIKE
# A form ends after three refusals: each conversation tries two values, then one word-like text.
TRIES = [(VALUE_LIKE[0:2], WORD_LIKE[0]), (VALUE_LIKE[2:4], WORD_LIKE[1])]


def text_of(name: str, language: str) -> str:
    return response(name, language)["text"]


def joined(answers: list[dict]) -> str:
    return "\n\n".join(m["text"] for m in answers)


def walk_to(person, language: str, ask: str, menu_payload: str) -> None:
    """From the greeting, press the menu button, then the first button of each answer (Next,
    then Yes to the form's offer) until the bot asks the form's question `ask`."""
    [*_, menu] = person.say({"uk": "Привіт", "pl": "Cześć", "en": "Hello", "ru": "Привет"}[language])
    [button] = [b for b in menu["buttons"] if b["payload"] == menu_payload]
    answers = person.press(button["title"], button["payload"])
    for _ in range(8):
        if joined(answers).endswith(text_of(ask, language)):
            return
        first = next(b for m in reversed(answers) for b in m["buttons"])
        answers = person.press(first["title"], first["payload"])
    raise AssertionError(f"the bot never asked {ask}")


FORMS = [
    # (menu button, the form's question, the reason it gives for a refused value, the slot)
    ("/check_status", "utter_ask_check_status_form_pesel", "utter_invalid_pesel_format", "pesel"),
    ("/forgot_username", "utter_ask_email", "utter_invalid_email", "email"),
    ("/forgot_password", "utter_ask_username", "utter_invalid_username", "username"),
]


@pytest.mark.parametrize(("values", "words"), TRIES)
@pytest.mark.parametrize(("menu", "ask", "reason", "slot"), FORMS)
def test_injections_in_the_widgets_forms_are_refused(
    stack, widget, store, menu, ask, reason, slot, values, words
):
    person = widget("en")
    walk_to(person, "en", ask, menu)
    for value in values:
        answers = person.say(value)
        assert joined(answers) == f"{text_of(reason, 'en')}\n\n{text_of(ask, 'en')}", value
        assert tracker(stack, person.conversation_id)["slots"][slot] is None
    answers = person.say(words)
    assert answers and all(m["author"] == "bot" for m in answers)
    assert not any("49" in m["text"] for m in answers)
    assert tracker(stack, person.conversation_id)["slots"][slot] is None
    typed = [m.text for m in store.messages(person.conversation_id) if m.author == "user"]
    assert typed[-3:] == [*values, words]  # verbatim
    assert [e["text"] for e in user_events(stack, person.conversation_id)][-3:] == [*values, words]


def test_injections_in_the_password_reset_fields_in_telegram(stack, new_chat, store):
    chat = new_chat("pl")
    chat.say("Cześć")
    chat.expect("utter_greet", language="pl")
    chat.press(button_title("utter_greet", "/forgot_password"))
    # Each turn is expected whole before the next press: the last turn sends two messages with
    # buttons (the guide's end, then the offer), so "a message with buttons" does not end a turn.
    steps = load_knowledge().guides["forgot_password"]["steps"]
    for step in range(1, len(steps) + 1):
        chat.expect(f"utter_forgot_password_step_{step}", language="pl")
        chat.press(button_title(f"utter_forgot_password_step_{step}", "/affirm"))
    chat.expect("utter_forgot_password_done", "utter_offer_password_reset_form", language="pl")
    chat.press(button_title("utter_offer_password_reset_form", "/affirm"))
    chat.expect("utter_ask_username", language="pl")
    chat.say(VALUE_LIKE[0])
    chat.expect("utter_invalid_username", "utter_ask_username", language="pl")
    chat.say("jan.kowalski")
    chat.expect("utter_ask_password_reset_form_pesel", language="pl")
    chat.say(VALUE_LIKE[1])
    chat.expect("utter_invalid_pesel_format", "utter_ask_password_reset_form_pesel", language="pl")
    typed = [m.text for m in store.messages(f"telegram-{chat.chat_id}") if m.author == "user"]
    assert typed[-3:] == [VALUE_LIKE[0], "jan.kowalski", VALUE_LIKE[1]]


def button_title(name: str, payload: str) -> str:
    [title] = [b["title"] for b in response(name, "pl")["buttons"] if b["payload"] == payload]
    return title


def test_the_databases_are_intact_afterwards(stack):
    """After the injections above (and in any order): every table there, the demo people too."""
    with sqlite3.connect(stack.databases.folder / "channels.db") as channels:
        assert {"conversations", "messages"} <= _tables(channels)
        assert channels.execute("SELECT count(*) FROM messages").fetchone()[0] > 0
    with sqlite3.connect(stack.databases.folder / "backend.db") as backend:
        assert {"people", "staff_users", "tickets", "ticket_messages"} <= _tables(backend)
        assert backend.execute("SELECT count(*) FROM people").fetchone()[0] == 6


def _tables(database: sqlite3.Connection) -> set[str]:
    return {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
