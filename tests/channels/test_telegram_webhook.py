"""Telegram end to end in webhook mode: a second channel service (in this process, on a port of
its own, with the stack's Rasa and backend) registers its webhook with the local Bot API server,
which posts updates to it with the secret token header, as Telegram does."""

from collections.abc import Iterator

import httpx
import pytest

from channels.store import Store
from common.db import make_engine, make_session_factory
from devstack.project import RASA_TOKEN
from tests.support.telegram_api import FakeBot
from tests.support.telegram_chat import Chat, channel_service, response
from tests.support.waiting import wait_for

TOKEN = "7000000002:webhook-token"
SECRET = "webhook-secret_0123456789"


@pytest.fixture(scope="module")
def webhook_service(stack, bot_api, tmp_path_factory) -> Iterator[tuple[str, FakeBot, Store]]:
    """The service's URL, its bot as Telegram sees it, and its database."""
    bot = bot_api.bot(TOKEN)
    database = tmp_path_factory.mktemp("webhook") / "channels.db"
    settings = {
        "rasa_url": stack.ports.rasa_url,
        "rasa_token": RASA_TOKEN,
        "actions_url": stack.ports.actions_url,
        "backend_url": stack.ports.backend_url,
        "telegram_mode": "webhook",
        "telegram_webhook_secret": SECRET,
    }
    with channel_service(bot_api, TOKEN, database, **settings) as url:
        engine = make_engine(f"sqlite:///{database}")
        try:
            wait_for(lambda: bot.webhook, 30, "the webhook to be set")
            yield url, bot, Store(make_session_factory(engine))
        finally:
            engine.dispose()


def test_the_webhook_is_registered_with_its_secret_and_nothing_polls(webhook_service):
    url, bot, _ = webhook_service
    [registration] = bot.calls_of("setWebhook")
    assert registration.params["url"] == f"{url}/telegram/webhook"
    assert registration.params["secret_token"] == SECRET
    assert registration.params["allowed_updates"] == ["message", "callback_query"]
    assert bot.calls_of("getUpdates") == []


def test_updates_posted_to_the_webhook_are_answered(webhook_service):
    _, bot, _ = webhook_service
    chat = Chat(bot, 5200001, language_code="en")
    chat.say("/start")
    chat.expect("utter_greet", language="en")

    chat.press(response("utter_greet", "en")["buttons"][0]["title"])

    chat.expect("utter_get_pesel_step_1", language="en")
    assert bot.webhook_posts and set(bot.webhook_posts) == {200}
    assert bot.pending_updates == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}],
    ids=["missing", "wrong", "almost"],
)
def test_a_post_without_the_right_secret_is_refused_and_does_nothing(webhook_service, headers):
    url, bot, store = webhook_service
    chat_id = 5200002
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Mallory", "language_code": "en"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }

    answer = httpx.post(f"{url}/telegram/webhook", json=update, headers=headers)

    assert answer.status_code == 403
    # an honest post of the same update would have been answered within this time
    with pytest.raises(AssertionError):
        wait_for(lambda: bot.calls_of("sendChatAction", chat_id), 3, "any reaction")
    assert bot.sent(chat_id) == []
    assert store.conversation(f"telegram-{chat_id}") is None
