"""Sending to Telegram: stored messages and the typing indicator, by the real python-telegram-bot
(with its rate limiter) over HTTP to the local Bot API server; no Rasa needed."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from channels.config import Settings
from channels.models import Message
from channels.store import Store
from channels.telegram import handlers
from channels.telegram.delivery import TelegramDeliverer
from channels.telegram.runner import build_application
from tests.support.telegram_api import FakeBot, FakeBotApi

CHAT = 424242


@pytest.fixture
def bot(bot_api: FakeBotApi) -> FakeBot:
    return bot_api.bot(f"7100000001:{uuid.uuid4().hex}")


@contextlib.asynccontextmanager
async def telegram_bot(bot_api: FakeBotApi, bot: FakeBot) -> AsyncIterator[Bot]:
    """The bot of the application the channel service builds (rate limiter and all), initialized (getMe)."""
    settings = Settings(
        telegram_bot_token=bot.token,
        telegram_mode="polling",
        telegram_base_url=bot_api.base_url,
        telegram_base_file_url=bot_api.base_file_url,
    )
    application = build_application(settings)
    await application.initialize()
    try:
        yield application.bot
    finally:
        await application.shutdown()


@contextlib.asynccontextmanager
async def delivering(
    bot_api: FakeBotApi, bot: FakeBot, store: Store, ready: bool = True
) -> AsyncIterator[TelegramDeliverer]:
    async with telegram_bot(bot_api, bot) as telegram:
        deliverer = TelegramDeliverer(telegram, store, retry_seconds=0.2)
        if ready:
            deliverer.ready.set()
        yield deliverer


def stored(store: Store, *texts: str, buttons: list[dict] | None = None) -> list[Message]:
    conversation = store.open_conversation("telegram", str(CHAT), "uk")
    return store.append(conversation.id, "bot", [(text, buttons or []) for text in texts]).messages


def undelivered(store: Store) -> list[str]:
    return [message.text for _, message in store.undelivered("telegram")]


def test_a_long_reply_arrives_in_parts_with_its_buttons_on_the_last(bot_api, bot, store):
    paragraph = "Крок: " + "відкрийте сторінку і натисніть кнопку. " * 50  # ~2000 characters
    text = "\n\n".join([paragraph.strip()] * 5)  # ~10,000 characters
    buttons = [{"title": "Далі", "payload": "/affirm"}, {"title": "До меню", "payload": "/greet"}]
    [message] = stored(store, text, buttons=buttons)

    async def scenario() -> None:
        async with delivering(bot_api, bot, store) as deliverer:
            await deliverer.deliver(store.conversation(f"telegram-{CHAT}"), [message])

    asyncio.run(scenario())

    sent = bot.sent(CHAT)
    assert len(sent) == 3
    assert all(len(part["text"]) <= 4096 for part in sent)
    assert "\n\n".join(part["text"] for part in sent) == text  # cut only between paragraphs
    assert [("reply_markup" in part) for part in sent] == [False, False, True]
    keyboard = sent[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == [f"{message.id}:0", f"{message.id}:1"]
    assert undelivered(store) == []


def test_a_flood_limit_is_waited_out_and_the_message_sent_once(bot_api, bot, store):
    messages = stored(store, "Вітаю!")
    bot.fail("sendMessage", times=2, status=429, retry_after=1)

    async def scenario() -> None:
        async with delivering(bot_api, bot, store) as deliverer:
            await deliverer.deliver(store.conversation(f"telegram-{CHAT}"), messages)

    asyncio.run(scenario())

    assert [call.status for call in bot.calls_of("sendMessage")] == [429, 429, 200]
    assert [m["text"] for m in bot.sent(CHAT)] == ["Вітаю!"]
    assert undelivered(store) == []


def test_what_telegram_refused_goes_out_later_before_newer_messages_and_once(bot_api, bot, store):
    async def scenario() -> None:
        async with delivering(bot_api, bot, store) as deliverer:
            conversation = store.open_conversation("telegram", str(CHAT), "uk")
            bot.fail("sendMessage", times=1, status=500)
            await deliverer.deliver(conversation, stored(store, "first"))
            assert undelivered(store) == ["first"]  # refused, kept

            await deliverer.deliver(conversation, stored(store, "second"))

    asyncio.run(scenario())

    assert [m["text"] for m in bot.sent(CHAT)] == ["first", "second"]
    assert undelivered(store) == []


def test_the_retry_loop_sends_what_was_left_once_however_many_senders_race(bot_api, bot, store):
    messages = stored(store, "one", "two", "three")
    conversation = store.conversation(f"telegram-{CHAT}")

    async def scenario() -> None:
        async with delivering(bot_api, bot, store, ready=False) as deliverer:
            # Before the bot is initialized nothing can be sent: the messages wait.
            await deliverer.deliver(conversation, messages)
            assert bot.calls_of("sendMessage") == []

            stop = asyncio.Event()
            retrying = asyncio.create_task(deliverer.retry_until(stop))
            bot.fail("sendMessage", times=2, status=500)
            deliverer.ready.set()
            # The live path and the retry loop, all at once, on the same conversation.
            await asyncio.gather(*(deliverer.deliver(conversation, messages) for _ in range(3)))
            for _ in range(100):
                if not await asyncio.to_thread(undelivered, store):
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await retrying

    asyncio.run(scenario())

    assert [m["text"] for m in bot.sent(CHAT)] == ["one", "two", "three"]
    assert undelivered(store) == []


def test_a_person_who_blocked_the_bot_does_not_hold_up_the_rest(bot_api, bot, store):
    blocked = store.open_conversation("telegram", "777", "uk")
    store.append(blocked.id, "staff", [("Are you still there?", [])])
    stored(store, "Hello")
    bot.fail("sendMessage", times=1, status=403)

    async def scenario() -> None:
        async with delivering(bot_api, bot, store) as deliverer:
            await deliverer.retry_undelivered()

    asyncio.run(scenario())

    assert bot.sent(777) == []  # refused for good: given up, not retried forever
    assert [m["text"] for m in bot.sent(CHAT)] == ["Hello"]
    assert undelivered(store) == []


def test_typing_is_shown_all_the_while_the_bot_thinks_and_not_after(bot_api, bot):
    """The refresh waits on a sleep the test ends itself: no wall clock involved."""
    shown: list[int] = []
    ticks: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(_seconds: float) -> None:
        await ticks.get()

    def typing_actions() -> int:
        actions = bot.calls_of("sendChatAction", CHAT)
        assert all(a.params["action"] == "typing" for a in actions)
        return len(actions)

    async def renewed(expected: int) -> None:
        for _ in range(300):  # the chat action travels over HTTP to the local Bot API server
            if typing_actions() >= expected:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"typing not renewed: {typing_actions()} actions, {expected} expected")

    async def scenario() -> None:
        async with telegram_bot(bot_api, bot) as telegram:
            async with handlers._typing(telegram, CHAT, sleep=sleep):
                shown.append(typing_actions())  # before the wait starts
                for refresh in (2, 3):  # a slow answer: two refresh periods pass
                    ticks.put_nowait(None)
                    await renewed(refresh)
                shown.append(typing_actions())
            # The refresher is cancelled and awaited when the block ends: no period can renew it.
            ticks.put_nowait(None)
            shown.append(typing_actions())

    asyncio.run(scenario())

    at_start, at_answer, later = shown
    assert at_start == 1
    assert at_answer == 3  # renewed once per refresh period
    assert later == at_answer  # and no more once the answer is there
