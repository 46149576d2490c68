"""The FastAPI application: routers, error handlers, and a lifespan that migrates and runs the worker."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from backend import worker
from backend.clock import Clock, utc_now
from backend.config import Settings
from backend.errors import install_error_handlers
from backend.migrate import upgrade_to_head
from backend.routers import dev_mailbox, health, recovery, staff, tickets, verifications
from common.db import make_engine, make_session_factory

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade_to_head, engine)
        if settings.uses_dev_secrets:
            logger.warning("Development service token or secret key in use: set the real ones in production")
        delivery = None
        if settings.backend_run_worker:
            delivery = asyncio.create_task(
                worker.run(app.state.session_factory, settings, lambda: app.state.clock())
            )
        yield
        if delivery is not None:
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
        engine.dispose()

    app = FastAPI(
        title="Onboarding account backend",
        version="1.0.0",
        description="The organisation's record of each newcomer's onboarding. Contract: backend/API.md.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    # Read through app.state, so tests can replace the clock after the app is made.
    app.state.clock = clock
    install_error_handlers(app)
    for module in (health, verifications, recovery, tickets, staff):
        app.include_router(module.router)
    if settings.app_env == "development":
        # It shows one-time codes to any service or staff caller: never part of production.
        app.include_router(dev_mailbox.router)
    return app
