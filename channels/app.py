"""The channel service: FastAPI app with the widget, the helpdesk console and Telegram.

Start-up migrates the database, opens the HTTP clients to Rasa and the backend, starts keeping
the analytics' summary and (when TELEGRAM_BOT_TOKEN is set) the Telegram bot; shut-down closes
them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from channels import analytics_summary, health
from channels.config import Settings
from channels.console import analytics as console_analytics
from channels.console import routes as console
from channels.conversations import ConversationService
from channels.hub import Hub
from channels.rasa_client import RasaClient
from channels.ratelimit import FloodGuard
from channels.store import Store
from channels.web import routes as web
from common.backend_client import BackendClient
from common.db import make_engine, make_session_factory, upgrade_with_alembic

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 80010002
# Threads that run the store's calls (asyncio.to_thread), and as many connections kept in the pool.
# With fewer connections than threads, one beyond the pool was opened for a call now and then and
# closed after it: a TCP connection, a server process and SCRAM's 4096 rounds of HMAC each time,
# some 6 % of the service's CPU under make scale-test's traffic (the default: 6 threads, 5 kept).
DATABASE_THREADS = 8


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # A connection the database dropped is found by its socket; one that died without a word fails
    # its call, which the store tries again on another (outlasting_outages).
    engine = make_engine(settings.channels_database_url, ping=False, pool_size=DATABASE_THREADS)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="database")
        asyncio.get_running_loop().set_default_executor(executor)
        await asyncio.to_thread(upgrade_with_alembic, engine, MIGRATIONS, _MIGRATION_LOCK_ID)
        rasa = RasaClient(
            settings.rasa_url, settings.rasa_token, settings.rasa_timeout_seconds, settings.actions_url
        )
        backend = BackendClient(settings.backend_url, settings.backend_service_token)
        flood = FloodGuard(
            settings.channels_rate_limit_burst,
            settings.channels_rate_limit_per_minute,
            settings.channels_rate_limit_tracked,
        )
        store = Store(make_session_factory(engine))
        # A turn lasts at most Rasa's timeout: a waiting message older than two of them was cut off.
        orphaned_after = 2 * settings.rasa_timeout_seconds + 5
        service = ConversationService(store, rasa, backend, Hub(), flood, orphaned_after)
        app.state.service = service
        async with contextlib.AsyncExitStack() as stack:
            if settings.telegram_bot_token:
                from channels.telegram.runner import running_telegram

                await stack.enter_async_context(running_telegram(app, settings, service))
            await stack.enter_async_context(_answering_kept(service, settings.kept_retry_seconds))
            await stack.enter_async_context(_summarising(engine, settings.rasa_tracker_db_url))
            yield
        await rasa.close()
        await backend.close()
        engine.dispose()

    app = FastAPI(
        title="Onboarding helper: channels",
        version="1.0.0",
        description="The web widget, the helpdesk console and Telegram, between people and the bot.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    for module in (health, web, console, console_analytics):
        app.include_router(module.router)
    return app


@contextlib.asynccontextmanager
async def _answering_kept(service: ConversationService, every: float) -> AsyncIterator[None]:
    """The loop that answers messages kept while the bot could not (channels/kept.py); a round
    in progress is finished on shut-down rather than cut off mid-turn."""
    stop = asyncio.Event()
    loop = asyncio.create_task(service.answer_waiting_until(stop, every), name="kept messages")
    try:
        yield
    finally:
        stop.set()
        await loop


@contextlib.asynccontextmanager
async def _summarising(engine: Engine, tracker_url: str) -> AsyncIterator[None]:
    """The analytics' summary refreshed every analytics_summary.EVERY seconds, so that a page
    finds little to catch up on; a refresh in progress stops after its transaction on shut-down."""
    stop, stopping = threading.Event(), asyncio.Event()

    async def refreshing() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(analytics_summary.refresh, engine, tracker_url, stop)
            except Exception:
                # The loop must outlive a database hiccup; the next round tries again.
                logger.exception("refreshing the analytics summary failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), analytics_summary.EVERY)

    task = asyncio.create_task(refreshing(), name="analytics summary")
    try:
        yield
    finally:
        stop.set()
        stopping.set()
        await task
