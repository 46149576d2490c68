"""Bad input on the widget's WebSocket and in Telegram: blank, oversized, binary, invalid UTF-8,
characters no database takes, emoji only, HTML and template syntax. Never a crash: a clear answer
or a clean close, and the service stays healthy."""

import json
import uuid

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from channels.texts import notice
from tests.support.stack import healthy, user_events
from tests.support.waiting import wait_for

HUNDRED_KB = "Привіт! " * 12_800
HTML = '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">PESEL</a>'
TEMPLATES = "{{7*7}} ${7*7} {% raw %}{%{% endraw %} #{7*7} <%= 7*7 %>"


def closed_with(person, code: int) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            person.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_blank_messages_are_ignored(widget, store):
    person = widget("uk")
    for blank in ["", "   ", "\n\t ", "\u3000\u00a0", "\x00\x07"]:
        person.send({"type": "message", "text": blank})
    answers = person.say("Привіт")
    assert answers[0]["author"] == "bot"
    assert [m.text for m in store.messages(person.conversation_id) if m.author == "user"] == ["Привіт"]


def test_a_text_over_the_limit_gets_the_notice_with_the_limit(widget, store):
    person = widget("en")
    [answer] = person.say("x" * 2001)
    assert answer["text"] == notice("too_long", "en") and "2000" in answer["text"]
    assert [m.author for m in store.messages(person.conversation_id)] == ["system"]


@pytest.mark.parametrize(
    ("frame", "as_text", "code"),
    [
        (json.dumps({"type": "message", "text": HUNDRED_KB}), True, 1009),  # over the frame limit
        (b"\x00\xff binary \x89PNG", False, 1008),
        (b'{"type": "message", "text": "PESEL \xff\xfe\xc3\x28"}', True, 1008),  # invalid UTF-8
    ],
    ids=["too big", "binary", "invalid UTF-8"],
)
def test_frames_no_widget_sends_close_the_socket_cleanly_and_the_service_goes_on(
    stack, widget, frame, as_text, code
):
    log = stack.log_of("channels")
    logged = log.read_bytes()
    other = widget("uk")
    person = widget("uk")
    person.socket.send(frame, text=as_text)  # websockets sends bytes as they are, even as text
    closed_with(person, code)
    # One line of warning, written before the socket was closed; no traceback, nothing of the frame.
    [line] = [
        line
        for line in log.read_bytes()[len(logged) :].decode("utf-8", "replace").splitlines()
        if " WARNING " in line or " ERROR " in line or "Traceback" in line
    ]
    assert " WARNING channels.web.routes: " in line and f"web-{person.session} closed with {code}" in line
    assert "PESEL" not in line and "PNG" not in line
    assert healthy(stack)
    assert other.say("Привіт")[0]["author"] == "bot"  # a socket open meanwhile goes on
    again = widget("uk", session=person.session)
    assert again.say("Привіт")[0]["author"] == "bot"


def test_a_hello_with_an_id_no_message_can_have_is_refused(stack):
    url = f"{stack.ports.channels_url.replace('http', 'ws')}/widget/ws?session={uuid.uuid4()}"
    with connect(url, open_timeout=60) as socket:
        socket.send(json.dumps({"type": "hello", "after": 2**70}))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=60)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert healthy(stack)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ('{"type": "message", "text": "\\ud83d PESEL?"}', "\ufffd PESEL?"),  # a lone surrogate
        ('{"type": "message", "text": "PESEL\\u0000\\u0007?"}', "PESEL?"),  # NUL: PostgreSQL refuses it
    ],
)
def test_characters_no_database_takes_are_replaced_or_dropped(stack, widget, store, sent, stored):
    person = widget("en")
    person.socket.send(sent)
    answers = person.answer()
    assert answers[0]["author"] == "bot"
    assert [m.text for m in store.messages(person.conversation_id) if m.author == "user"] == [stored]
    assert user_events(stack, person.conversation_id)[-1]["text"] == stored


@pytest.mark.parametrize(
    "text", ["😀😀😀", "🇺🇦🙏", "👍🏽", HTML, TEMPLATES, "'; DROP TABLE conversations;--"]
)
def test_emoji_html_and_injections_get_an_answer_from_the_bot_and_are_stored_verbatim(widget, store, text):
    person = widget("uk")
    answers = person.say(text)
    assert answers and all(m["author"] == "bot" for m in answers)
    assert not any("49" in m["text"] for m in answers), "no template was evaluated"
    assert [m.text for m in store.messages(person.conversation_id) if m.author == "user"] == [text]


def test_telegram_blank_oversized_and_odd_texts(stack, new_chat, store):
    chat = new_chat("uk")
    chat.say(HUNDRED_KB)  # Telegram itself allows 4096 characters; a modified client or server more
    chat.expect_text(notice("too_long", "uk"))
    chat.say(" \n ")
    # NUL and other control characters (Telegram sends valid UTF-8 only: no lone surrogates here)
    chat.say("Привіт\x00\x07")
    chat.expect("utter_greet", language="uk")
    typed = [m.text for m in store.messages(f"telegram-{chat.chat_id}") if m.author == "user"]
    assert typed == ["Привіт"]
    for text in ["😀😀😀", HTML, TEMPLATES]:
        chat.say(text)
        answer = wait_for_answer(chat)
        assert "49" not in answer and notice("rasa_unavailable", "uk") not in answer
    assert healthy(stack)


def wait_for_answer(chat) -> str:
    return "\n\n".join(m["text"] for m in wait_for(chat.new, 60, "the bot's answer"))
