"""Telegram's pieces without servers: splitting long replies, buttons to callback data and back."""

import pytest
from telegram import InlineKeyboardMarkup

from channels.models import Message
from channels.store import Store
from channels.telegram.keyboards import find_button, keyboard, parse_callback_data
from channels.telegram.splitting import split_text, telegram_length

# --- splitting --------------------------------------------------------------------------------


def test_a_short_text_is_one_part():
    assert split_text("Вітаю! 👋\n\nЯ допоможу.") == ["Вітаю! 👋\n\nЯ допоможу."]


def test_paragraphs_are_kept_whole_while_they_fit():
    paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(1, 11)]  # ~770 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)

    parts = split_text(text, limit=2000)

    assert all(len(part) <= 2000 for part in parts)
    # every cut is at a paragraph break: each part is whole paragraphs, together the whole text
    assert "\n\n".join(parts) == text
    assert all(part.startswith("Paragraph") for part in parts)
    assert len(parts) == 5  # two paragraphs fit in a part, three do not


def test_a_paragraph_too_long_is_cut_at_lines_then_words_never_inside_a_word():
    line = " ".join(f"słowo{n}" for n in range(300))  # ~2500 characters, one line
    text = f"Intro.\n\n{line}\n{line}"

    parts = split_text(text, limit=1000)

    assert all(len(part) <= 1000 for part in parts)
    words = text.split()
    assert " ".join(" ".join(parts).split()) == " ".join(words)  # nothing lost, nothing added
    for part in parts:
        # each part starts and ends with a whole word of the text
        assert part.split()[0] in words and part.split()[-1] in words


def test_telegram_4096_limit_counts_emoji_twice():
    text = ("👋" * 1500 + " ") * 2  # 3002 characters, 6002 UTF-16 units

    parts = split_text(text)

    assert [telegram_length(p) for p in parts] == [3000, 3000]


def test_a_word_longer_than_a_message_is_cut_hard_without_halving_an_emoji():
    text = "x" + "😀" * 3000  # one "word" of 6001 UTF-16 units

    parts = split_text(text)

    assert "".join(parts) == text
    assert [telegram_length(p) for p in parts] == [4095, 1906]


def test_blank_text_gives_no_part():
    assert split_text(" \n\n ") == []


# --- buttons ----------------------------------------------------------------------------------


LANGUAGE_BUTTONS = [
    {"title": "Українська", "payload": '/switch_language{"language":"uk"}'},
    {
        "title": "Polski — zmień język rozmowy na polski, proszę bardzo",
        "payload": '/switch_language{"language":"pl"}',
    },
]


def sent_to(store: Store, chat_id: int, buttons: list[dict]) -> Message:
    conversation = store.open_conversation("telegram", str(chat_id), "uk")
    [message] = store.append(conversation.id, "bot", [("Оберіть мову", buttons)]).messages
    return message


def test_buttons_carry_short_callback_data_that_leads_back_to_their_payload(store):
    message = sent_to(store, 1001, LANGUAGE_BUTTONS)

    markup = keyboard(message)

    assert isinstance(markup, InlineKeyboardMarkup)
    rows = markup.inline_keyboard
    assert [row[0].text for row in rows] == [b["title"] for b in LANGUAGE_BUTTONS]
    assert [row[0].callback_data for row in rows] == [f"{message.id}:0", f"{message.id}:1"]
    assert all(len(row[0].callback_data.encode()) <= 64 for row in rows)
    assert find_button(store, rows[1][0].callback_data, 1001) == LANGUAGE_BUTTONS[1]


def test_a_message_without_buttons_has_no_keyboard(store):
    assert keyboard(sent_to(store, 1002, [])) is None


@pytest.mark.parametrize(
    "data",
    [None, "", "/greet", "1:0:0", "-1:0", "1:-1", "x:0", "1:9999", "99999999999999999999:0", " 1:0"],
)
def test_callback_data_that_is_not_ours_does_not_parse(data):
    assert parse_callback_data(data) is None


def test_forged_or_stale_callbacks_find_no_button(store):
    mine = sent_to(store, 1003, LANGUAGE_BUTTONS).id
    others = sent_to(store, 1004, LANGUAGE_BUTTONS).id
    web = store.open_conversation("web", "1003", "uk")  # same external id, another channel
    [web_message] = store.append(web.id, "bot", [("Menu", LANGUAGE_BUTTONS)]).messages

    assert find_button(store, f"{mine}:0", 1003) == LANGUAGE_BUTTONS[0]
    assert find_button(store, f"{mine}:2", 1003) is None  # no such button
    assert find_button(store, f"{others}:0", 1003) is None  # another chat's message
    assert find_button(store, f"{web_message.id}:0", 1003) is None  # another channel's message
    assert find_button(store, f"{mine + 1000}:0", 1003) is None  # no such message
    assert find_button(store, '/switch_language{"language":"pl"}', 1003) is None
