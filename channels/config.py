"""Settings of the channel service, from the environment (upper-case field names)."""

from typing import Literal, Self

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.ratelimit import DEFAULT_BURST, DEFAULT_PER_MINUTE, DEFAULT_TRACKED
from common.dev import ACTIONS_PORT, BACKEND_PORT, CHANNELS_PORT, RASA_PORT, local_url, sqlite_url
from common.environment import DEV_SERVICE_TOKEN, AppEnv, dev_secrets, refuse_in_production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    # production: the development service token is refused (common/environment.py).
    app_env: AppEnv = "development"

    channels_database_url: str = sqlite_url("channels.db")
    channels_host: str = "127.0.0.1"
    channels_port: int = CHANNELS_PORT
    channels_log_level: str = "info"
    # The public address of the service, for the widget's <script> snippet and Telegram's webhook.
    channels_public_url: str = local_url(CHANNELS_PORT)

    # Flood control per conversation: a burst of this many messages, then this many a minute; the
    # first message over gets a notice, the rest are not answered until the person slows down.
    channels_rate_limit_burst: int = DEFAULT_BURST
    channels_rate_limit_per_minute: float = DEFAULT_PER_MINUTE
    # Conversations whose pace is remembered at most (memory stays bounded under any load).
    channels_rate_limit_tracked: int = DEFAULT_TRACKED

    rasa_url: str = local_url(RASA_PORT)
    # When Rasa runs with --auth-token (RASA_TOKEN), its HTTP API (pause, resume, tracker
    # events) needs the same token; empty when Rasa is reachable on loopback only.
    rasa_token: str = ""
    rasa_timeout_seconds: float = 30.0
    # The action server's address, for its health check: while it is down, messages are kept
    # and answered once it is back, not sent to a Rasa that would lose every custom action's
    # events. Empty: not checked.
    actions_url: str = local_url(ACTIONS_PORT)
    # How often messages kept while Rasa or the action server was down are tried again.
    kept_retry_seconds: float = 3.0
    # Rasa's SQL tracker store, read (never written) for the console's page of failed messages.
    rasa_tracker_db_url: str = sqlite_url("rasa-tracker.db")

    backend_url: str = local_url(BACKEND_PORT)
    backend_service_token: str = DEV_SERVICE_TOKEN

    # How long conversations are kept (here, in Rasa's tracker store and the backend's closed
    # tickets) before `python -m channels.retention purge` deletes them.
    conversation_retention_days: int = 90

    telegram_bot_token: str = ""
    telegram_mode: Literal["polling", "webhook"] = "polling"
    # Where python-telegram-bot sends Bot API calls; tests point it at a local Bot API server.
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    # Webhook mode: Telegram posts to {channels_public_url}/telegram/webhook with this secret header.
    telegram_webhook_secret: str = ""

    @model_validator(mode="after")
    def _fit_for_production(self) -> Self:
        problems = dev_secrets({"BACKEND_SERVICE_TOKEN": self.backend_service_token})
        refuse_in_production(self.app_env, "The channel service", problems)
        return self
