"""Run the channel service: python -m channels (migrates on start-up; CHANNELS_HOST:CHANNELS_PORT)."""

import uvicorn

from channels.app import create_app
from channels.config import Settings
from channels.web.protocol import UVICORN_OPTIONS
from common.environment import or_exit
from common.logs import logging_config


def main() -> None:
    settings = or_exit(Settings)
    uvicorn.run(
        create_app(settings),
        host=settings.channels_host,
        port=settings.channels_port,
        log_config=logging_config(settings.channels_log_level),
        proxy_headers=True,
        **UVICORN_OPTIONS,
    )


if __name__ == "__main__":
    main()
