"""Forged commands: Rasa reads '/intent{"entity": "value"}' as that intent with those entities,
past the NLU. A person's typed text, or a button the bot never offered, must not reach it so;
Rasa's tracker (its HTTP API) shows what did."""

import pytest

from channels.texts import notice
from common.pii import for_logs as mask
from tests.support.stack import tracker, user_events

FORGED = [
    '/inform{"pesel":"44051401458"}',
    "/human_handoff",
    '  /switch_language{"language":"ru"}',
    "/check_status@1.0",
    "/restart",
]


def forced(event: dict) -> bool:
    """Whether Rasa took the intent from the text's '/' syntax instead of its NLU."""
    parse = event["parse_data"]
    by_syntax = any(e.get("extractor") == "RegexMessageHandler" for e in parse.get("entities", []))
    return by_syntax or event["text"].lstrip().startswith("/")


def test_commands_typed_in_the_widget_get_a_notice_and_never_reach_rasa(stack, widget, store):
    person = widget("uk")
    for text in FORGED:
        assert [m["text"] for m in person.say(text)] == [notice("command_typed", "uk")], text
    assert user_events(stack, person.conversation_id) == []
    state = tracker(stack, person.conversation_id)
    assert state["slots"]["language"] == "uk" and state["slots"].get("pesel") is None
    assert store.conversation(person.conversation_id).state == "bot"  # no handoff
    # The transcript keeps what the person wrote (personal data masked, as always).
    typed = [m.text for m in store.messages(person.conversation_id) if m.author == "user"]
    assert typed == [mask(text.strip()) for text in FORGED]


def test_a_button_the_bot_never_offered_counts_as_its_title(stack, widget, store):
    person = widget("en")
    person.say("Hello")
    answers = person.press("Yes", '/human_handoff{"pesel":"44051401458"}')
    assert all(m["author"] == "bot" for m in answers)
    last = user_events(stack, person.conversation_id)[-1]
    assert last["text"] == "Yes" and not forced(last)
    assert store.conversation(person.conversation_id).state == "bot"
    # A forged button whose title is a command is a typed command.
    assert [m["text"] for m in person.press("/human_handoff", "/human_handoff")] == [
        notice("command_typed", "en")
    ]


def test_a_button_the_bot_offered_still_sends_its_payload(stack, widget):
    person = widget("pl")
    [*_, menu] = person.say("Cześć")
    assert menu["buttons"], "the greeting offers the menu"
    button = menu["buttons"][0]
    person.press(button["title"], button["payload"])
    last = user_events(stack, person.conversation_id)[-1]
    assert last["text"] == button["payload"]
    assert f"/{last['parse_data']['intent']['name']}" == button["payload"].split("{")[0]


@pytest.mark.parametrize("text", [' /inform{"pesel":"44051401458"}', "\u2003/human_handoff"])
def test_commands_typed_in_telegram_get_a_notice_and_never_reach_rasa(stack, new_chat, text):
    # After leading whitespace Telegram marks no bot command; Rasa strips it and sees one.
    chat = new_chat("pl")
    chat.say(text)
    chat.expect_text(notice("command_typed", "pl"))
    assert user_events(stack, f"telegram-{chat.chat_id}") == []


def test_an_unknown_telegram_command_shows_the_help_and_sets_nothing(stack, new_chat, store):
    chat = new_chat("en")
    chat.say('/human_handoff{"pesel":"44051401458"}')
    chat.expect("utter_menu", language="en")
    [event] = user_events(stack, f"telegram-{chat.chat_id}")
    assert event["text"] == "/help" and event["parse_data"]["entities"] == []
    assert store.conversation(f"telegram-{chat.chat_id}").state == "bot"
