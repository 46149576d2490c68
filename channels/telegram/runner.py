"""Telegram inside the channel service: python-telegram-bot started with the service, stopped with it.

Long polling by default. In webhook mode (TELEGRAM_MODE=webhook) Telegram posts updates to
{CHANNELS_PUBLIC_URL}/telegram/webhook with TELEGRAM_WEBHOOK_SECRET in a header; the route checks
it and queues the update for the same handlers. Replies reach Telegram through the
TelegramDeliverer, registered with the conversation service for the "telegram" channel.

Telegram being unreachable at start-up does not stop the service (the widget and the console
work without it): the bot keeps trying to start in the background.

GET /telegram/status counts updates handled and in progress and the delivery loop's finished
retry rounds (no personal data): tests wait for these events rather than for a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request, Response
from telegram import BotCommand, Update
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder

from channels.config import Settings
from channels.conversations import ConversationService
from channels.telegram.delivery import TelegramDeliverer
from channels.telegram.handlers import BotApplication, Handlers
from channels.telegram.keyboards import CHANNEL
from channels.texts import language_or_default, telegram_commands
from common.languages import LANGUAGES

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
POLL_TIMEOUT_SECONDS = 30
# Flood limits: the limiter keeps under Telegram's rates and waits out a RetryAfter this many
# times; after that the message stays undelivered and the delivery loop takes it up later.
RATE_LIMIT_RETRIES = 3
# Updates of different chats are handled side by side (one waiting for Rasa must not hold up
# everyone); those of one chat take turns (Handlers).
CONCURRENT_UPDATES = 32
MAX_START_DELAY_SECONDS = 60.0


@contextlib.asynccontextmanager
async def running_telegram(
    app: FastAPI, settings: Settings, service: ConversationService
) -> AsyncIterator[None]:
    webhook = settings.telegram_mode == "webhook"
    if webhook and not SECRET_TOKEN.fullmatch(settings.telegram_webhook_secret):
        raise RuntimeError(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z, a-z, 0-9, _ and -),"
            " or anyone could post updates"
        )

    application = build_application(settings)
    handlers = Handlers(service)
    handlers.register(application)
    deliverer = TelegramDeliverer(application.bot, service.store)
    service.deliverers[CHANNEL] = deliverer
    if webhook:
        app.include_router(webhook_router(application, settings.telegram_webhook_secret))
    app.include_router(status_router(handlers, deliverer))
    stop_retrying = asyncio.Event()
    starting = asyncio.create_task(_start(application, settings, deliverer), name="telegram start")
    retrying = asyncio.create_task(deliverer.retry_until(stop_retrying), name="telegram delivery")
    try:
        yield
    finally:
        service.deliverers.pop(CHANNEL, None)
        starting.cancel()
        stop_retrying.set()
        await asyncio.gather(starting, retrying, return_exceptions=True)
        await _stop(application)


def build_application(settings: Settings) -> BotApplication:
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if settings.telegram_mode == "webhook":
        # Updates come through the service's own route, not python-telegram-bot's web server.
        builder = builder.updater(None)
    return builder.build()


def webhook_url(settings: Settings) -> str:
    return settings.channels_public_url.rstrip("/") + WEBHOOK_PATH


def status_router(handlers: Handlers, deliverer: TelegramDeliverer) -> APIRouter:
    router = APIRouter(tags=["telegram"])

    @router.get("/telegram/status")
    async def telegram_status() -> dict[str, int | bool]:
        """Counts of what the bot has done since the service started."""
        return {
            "ready": deliverer.ready.is_set(),
            "updates_handled": handlers.updates_handled,
            "updates_in_progress": handlers.updates_in_progress,
            "delivery_rounds": deliverer.rounds,
        }

    return router


def webhook_router(application: BotApplication, secret: str) -> APIRouter:
    router = APIRouter(tags=["telegram"])

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        # Constant-time: the comparison must not tell a guesser how much of the secret was right.
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response(status_code=403)
        if not application.running:
            # Telegram keeps the update and posts it again a little later.
            return Response(status_code=503)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            # Not an update at all: nothing Telegram would send.
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return router


async def _start(application: BotApplication, settings: Settings, deliverer: TelegramDeliverer) -> None:
    """Start the bot, trying again with growing pauses while Telegram cannot be reached."""
    delay = 1.0
    while True:
        try:
            await _start_once(application, settings, deliverer)
            logger.info("Telegram bot @%s started (%s)", application.bot.username, settings.telegram_mode)
            return
        except (InvalidToken, BadRequest) as error:
            # A wrong token, or a webhook address Telegram will not take: trying again cannot help.
            logger.error("Telegram refused the bot's set-up (%s): the Telegram channel stays off", error)
            return
        except TelegramError as error:
            logger.warning("Telegram not reachable (%s); trying again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_START_DELAY_SECONDS)


async def _start_once(application: BotApplication, settings: Settings, deliverer: TelegramDeliverer) -> None:
    # Each step is skipped when an earlier attempt got past it.
    await application.initialize()  # getMe
    deliverer.ready.set()
    await _set_commands(application)
    # Started before the webhook is registered, so that Telegram's first post finds it running.
    if not application.running:
        await application.start()
    if application.updater is None:
        await application.bot.set_webhook(
            webhook_url(settings),
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    if application.updater is not None and not application.updater.running:
        # Updates that came while the service was down are still waiting: not dropped.
        await application.updater.start_polling(timeout=POLL_TIMEOUT_SECONDS, allowed_updates=ALLOWED_UPDATES)


async def _set_commands(application: BotApplication) -> None:
    """The command menu in each of our languages, and in the default one for every other app language."""
    for language in (None, *LANGUAGES):
        descriptions = telegram_commands(language_or_default(language))
        commands = [BotCommand(command, description) for command, description in descriptions.items()]
        await application.bot.set_my_commands(commands, language_code=language)


async def _stop(application: BotApplication) -> None:
    """Stop whatever was started. The webhook stays registered: Telegram keeps the updates of a
    restart and posts them once the service is back."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
