"""Telegram end to end, long polling: the channel service of the stack (started as `make run` starts
it, with TELEGRAM_BOT_TOKEN set) polls the local Bot API server with python-telegram-bot and talks
with the real Rasa server. Each test is one person (one chat id)."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from channels.store import Store
from channels.texts import LANGUAGES, notice, telegram_commands
from common.db import make_engine, make_session_factory
from tests.support.telegram_chat import Chat, response
from tests.support.waiting import wait_for

SERVICE = {"X-Service-Token": "dev-service-token"}


@pytest.fixture
def stack_store(stack) -> Iterator[Store]:
    """The channel service's own database, read by the test."""
    engine = make_engine(stack.databases.channels)
    yield Store(make_session_factory(engine))
    engine.dispose()


def telegram_status(stack) -> dict[str, Any]:
    """What the channel service's bot has done: updates handled and in progress, retry rounds."""
    status: dict[str, Any] = httpx.get(f"{stack.ports.channels_url}/telegram/status", timeout=10).json()
    return status


def idle(stack) -> dict[str, Any] | None:
    """The status once no update is being handled (None while one is)."""
    status = telegram_status(stack)
    return None if status["updates_in_progress"] else status


def a_full_retry_round_later(stack) -> None:
    """Returns once a retry round has started and finished since the call (the round in
    progress, if any, may have begun before what the test did)."""
    rounds = telegram_status(stack)["delivery_rounds"]
    wait_for(lambda: telegram_status(stack)["delivery_rounds"] >= rounds + 2, 30, "a full retry round")


def user_texts(store: Store, chat_id: int) -> list[str]:
    return [m.text for m in store.messages(f"telegram-{chat_id}") if m.author == "user"]


def test_start_greets_with_the_menu_in_the_language_of_the_telegram_app(telegram):
    chat = Chat(telegram, 5100001, language_code="pl")
    chat.say("/start")

    [greeting] = chat.expect("utter_greet", language="pl")

    titles = [b["title"] for b in response("utter_greet", "pl")["buttons"]]
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == titles
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)
    # "typing…" was shown while the bot was thinking
    actions = telegram.calls_of("sendChatAction", chat.chat_id)
    assert actions and actions[0].params["action"] == "typing"
    # the command menu, in every language and by default
    assert set(telegram.commands) == {None, *LANGUAGES}
    pl_menu = {c["command"]: c["description"] for c in telegram.commands["pl"]}
    assert pl_menu == telegram_commands("pl")


def test_a_greeting_in_ukrainian_then_a_pressed_button(telegram, stack_store):
    chat = Chat(telegram, 5100002, language_code="uk")
    chat.say("Привіт")
    chat.expect("utter_greet", language="uk")

    query = chat.press("Отримати PESEL")

    chat.expect("utter_get_pesel_step_1", language="uk")
    [answer] = [c for c in telegram.calls_of("answerCallbackQuery") if c.params["callback_query_id"] == query]
    assert "text" not in answer.params  # a plain acknowledgement
    # the pressed keyboard is taken away (its buttons would act on a later step)
    [edit] = telegram.calls_of("editMessageReplyMarkup", chat.chat_id)
    assert "reply_markup" not in edit.params
    # the transcript keeps what the person chose, not the intent behind it
    assert user_texts(stack_store, chat.chat_id) == ["Привіт", "Отримати PESEL"]


def test_help_and_language_commands(telegram):
    chat = Chat(telegram, 5100003, language_code="en")
    chat.say("/help")
    chat.expect("utter_menu", language="en")

    chat.say("/language")
    chat.expect("utter_choose_language", language="en")
    chat.press("Polski")  # payload /switch_language{"language":"pl"}: more than fits in callback_data
    chat.expect("utter_language_switched", language="pl")


def test_a_forged_or_foreign_button_is_answered_and_goes_no_further(stack, telegram, stack_store):
    other = Chat(telegram, 5100004, language_code="uk")
    other.say("/start")
    [others_menu] = other.expect("utter_greet", language="uk")
    foreign_data = others_menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    chat = Chat(telegram, 5100005, language_code="ru")
    chat.say("/start")
    [menu] = chat.expect("utter_greet", language="ru")
    handled = wait_for(lambda: idle(stack), 30, "the greeting's update finished")["updates_handled"]
    queries = [
        chat.press_data(menu["message_id"], foreign_data),  # another chat's button
        chat.press_data(menu["message_id"], "999999999:0"),  # no such message
        chat.press_data(menu["message_id"], '/switch_language{"language":"pl"}'),  # a payload itself
    ]

    def answered() -> list:
        calls = telegram.calls_of("answerCallbackQuery")
        return [c.params for c in calls if c.params["callback_query_id"] in queries]

    answers = wait_for(lambda: len(answered()) == 3 and answered(), 30, "the answers")
    assert [a.get("text") for a in answers] == [notice("button_expired", "ru")] * 3
    # The three presses handled to the end: nothing went to Rasa, nothing more was said.
    wait_for(lambda: (status := idle(stack)) and status["updates_handled"] >= handled + 3, 30, "the presses")
    assert chat.new() == []
    assert user_texts(stack_store, chat.chat_id) == ["/start"]


def test_a_sticker_gets_the_text_only_notice_in_the_persons_language(telegram, stack_store):
    chat = Chat(telegram, 5100006, language_code="ru")
    chat.send_sticker()

    chat.expect_text(notice("text_only", "ru"), timeout=30)
    assert user_texts(stack_store, chat.chat_id) == []  # nothing for Rasa


def test_flood_limits_and_telegram_errors_lose_and_duplicate_nothing(stack, telegram, stack_store):
    chat = Chat(telegram, 5100007, language_code="uk")
    telegram.fail("sendMessage", times=2, status=429, retry_after=1)
    chat.say("/start")
    chat.expect("utter_greet", language="uk")
    statuses = [c.status for c in telegram.calls_of("sendMessage", chat.chat_id)]
    assert statuses == [429, 429, 200]  # waited out by the rate limiter

    # Telegram fails for a while: the reply waits in the database and the retry loop sends it.
    telegram.fail("sendMessage", times=2, status=500)
    chat.press("Отримати PESEL")
    chat.expect("utter_get_pesel_step_1", language="uk", timeout=30)
    a_full_retry_round_later(stack)  # still exactly once
    assert len(chat.new()) == 1
    assert not [m for _, m in stack_store.undelivered("telegram") if m.conversation_id == "telegram-5100007"]


def test_restarting_in_a_handed_off_conversation_loses_no_message(stack, telegram, stack_store):
    chat = Chat(telegram, 5100008, language_code="pl")
    chat.say("Cześć")
    chat.expect("utter_greet", language="pl")
    chat.say("chcę porozmawiać z człowiekiem")
    wait_for(lambda: stack_store.conversation("telegram-5100008").state == "handoff", 60, "the handoff")
    ticket_id = stack_store.conversation("telegram-5100008").ticket_id

    # Telegram stops taking messages; a staff reply is stored but cannot be delivered yet.
    telegram.fail("sendMessage", times=10_000, status=500)
    staff_reply = "Dzień dobry, tu Anna z helpdesku. Już sprawdzam."
    with httpx.Client(base_url=stack.ports.channels_url, headers={"X-Requested-With": "console"}) as console:
        console.post("/console/api/session", json={"username": "agent", "password": "agent-demo-pass"})
        reply = console.post(f"/console/api/tickets/{ticket_id}/replies", json={"text": staff_reply})
        assert reply.status_code == 201, reply.text
    seen = len(chat.sent())

    stack.stop("channels")
    chat.say("Dziękuję, czekam")  # written while the service is down
    telegram.stop_failing()
    stack.start("channels")

    wait_for(lambda: len(chat.sent()) > seen, 60, "the staff reply")
    a_full_retry_round_later(stack)  # still exactly once
    assert [m["text"] for m in chat.sent()[seen:]] == [staff_reply]
    # and what the person wrote meanwhile reached the ticket
    ticket_url = f"{stack.ports.backend_url}/v1/tickets/{ticket_id}"

    def last_ticket_message() -> str:
        return httpx.get(ticket_url, headers=SERVICE).json()["messages"][-1]["text"]

    wait_for(lambda: last_ticket_message() == "Dziękuję, czekam", 30, "the message on the ticket")
