"""The Telegram bot of a channel service in this process (no Rasa needed) when something is down:
Telegram itself at start-up, or the bot behind the service."""

import httpx

from channels.texts import notice
from tests.support.telegram_chat import Chat, channel_service
from tests.support.waiting import wait_for

NOTHING_LISTENS = "http://127.0.0.1:9"
DOWN = {"rasa_url": NOTHING_LISTENS, "actions_url": NOTHING_LISTENS, "backend_url": NOTHING_LISTENS}


def test_a_person_is_told_in_their_language_when_the_bot_cannot_answer(bot_api, tmp_path):
    token = "7000000003:rasa-down-token"
    bot = bot_api.bot(token)
    with channel_service(bot_api, token, tmp_path / "channels.db", **DOWN):
        wait_for(lambda: bot.calls_of("getUpdates"), 30, "polling")
        chat = Chat(bot, 5300001, language_code="pl")
        chat.say("Cześć, potrzebuję pomocy z PESEL")

        # Kept, and answered once the bot is back (tests/faults).
        chat.expect_text(notice("kept_for_later", "pl"), timeout=30)


def test_the_service_starts_while_telegram_is_unreachable_and_the_bot_follows(bot_api, tmp_path):
    token = "7000000004:late-telegram-token"
    bot = bot_api.bot(token)
    bot.fail("getMe", times=2, status=502)
    with channel_service(bot_api, token, tmp_path / "channels.db", **DOWN) as url:
        # the widget and the console do not wait for Telegram
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}

        wait_for(lambda: bot.calls_of("getUpdates"), 30, "polling once Telegram answers")
        assert [call.status for call in bot.calls_of("getMe")] == [502, 502, 200]
