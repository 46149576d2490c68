"""Floods from one person: `flood_burst` messages reach the bot, the next one gets a polite notice in
the person's language, the rest are dropped (neither stored nor answered). The stack's limit does
not refill during the run, so the counts are exact."""

import pytest

from channels.texts import notice
from tests.support.stack import user_events
from tests.support.waiting import wait_for

MORE = 8  # messages over the limit
QUIET = 3.0  # seconds without a frame after the flood: an answered message would show within ms


def test_a_widget_flood_gets_one_notice_and_reaches_the_bot_burst_times(stack, widget, store, flood_burst):
    person = widget("pl")
    for n in range(flood_burst + MORE):
        person.send({"type": "message", "text": f"Cześć {n}"})
    seen: list[dict] = []
    while notice("too_fast", "pl") not in [m["text"] for m in seen]:
        frame = person.receive()
        seen += frame.get("messages", [])
    with pytest.raises(TimeoutError):
        person.receive(timeout=QUIET)  # the dropped messages: no echo, no answer
    assert len(user_events(stack, person.conversation_id)) == flood_burst
    stored = store.messages(person.conversation_id)
    assert [m.text for m in stored if m.author == "user"] == [f"Cześć {n}" for n in range(flood_burst)]
    assert [m.text for m in stored if m.author == "system"] == [notice("too_fast", "pl")]
    # Other people are not slowed down.
    assert widget("pl").say("Cześć")[0]["author"] == "bot"


def test_a_telegram_flood_gets_one_notice_and_reaches_the_bot_burst_times(
    stack, telegram, new_chat, store, flood_burst
):
    chat = new_chat("ru")
    for n in range(flood_burst + MORE):
        chat.bot.send_text(chat.chat_id, f"Привет {n}", chat.language_code)
    # Messages of a chat are handled one after another, each opening with "typing…": once the
    # blank message's turn has come, every flood message has been handled. ("typing…" is also
    # renewed during a slow answer: then the counts below are waited for as well.)
    chat.bot.send_text(chat.chat_id, " ", chat.language_code)
    wait_for(
        lambda: len(telegram.calls_of("sendChatAction", chat.chat_id)) > flood_burst + MORE, 120, "the flood"
    )
    conversation_id = f"telegram-{chat.chat_id}"
    wait_for(lambda: not [m for _, m in store.undelivered("telegram", conversation_id=conversation_id)], 60)
    assert len(user_events(stack, conversation_id)) == flood_burst
    sent = [m["text"] for m in chat.sent()]
    assert sent.count(notice("too_fast", "ru")) == 1
    assert sent[-1] == notice("too_fast", "ru")  # nothing answered after it
    assert len([m for m in store.messages(conversation_id) if m.author == "user"]) == flood_burst
