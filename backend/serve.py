"""Run the service: python -m backend (migrates on start-up, then serves on BACKEND_HOST:BACKEND_PORT)."""

import uvicorn

from backend.app import create_app
from backend.config import Settings
from common.environment import or_exit
from common.logs import logging_config


def main() -> None:
    settings = or_exit(Settings)
    uvicorn.run(
        create_app(settings),
        host=settings.backend_host,
        port=settings.backend_port,
        log_config=logging_config(settings.backend_log_level),
        # Behind a proxy, set FORWARDED_ALLOW_IPS so the per-address rate limit sees the real client.
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
