"""Settings from the environment (names are the upper-case field names, e.g. DATABASE_URL)."""

from typing import Self

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.dev import BACKEND_PORT, sqlite_url
from common.environment import (
    DEV_SECRET_KEY,
    DEV_SERVICE_TOKEN,
    AppEnv,
    dev_secrets,
    refuse_in_production,
)

__all__ = ["DEV_SECRET_KEY", "DEV_SERVICE_TOKEN", "Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    # production: the development token, key and mailbox are refused (common/environment.py).
    app_env: AppEnv = "development"
    database_url: str = sqlite_url("backend.db")
    backend_service_token: str = DEV_SERVICE_TOKEN
    # Signs person and staff tokens and keys the HMACs of codes and rate-limit keys.
    backend_secret_key: str = DEV_SECRET_KEY
    backend_host: str = "127.0.0.1"
    backend_port: int = BACKEND_PORT
    backend_log_level: str = "info"
    # The delivery worker runs inside the API process unless it runs on its own (python -m backend.worker).
    backend_run_worker: bool = True

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "Onboarding helper <no-reply@localhost>"
    smtp_starttls: bool = True

    outbox_poll_seconds: float = 0.5
    outbox_max_attempts: int = 5
    # Delay before the first retry; each further retry waits twice as long.
    outbox_retry_seconds: float = 5.0

    # The action server calls from one address for all its users, so the per-address limit is generous:
    # it stops a runaway client, the per-PESEL and per-caller limits stop guessing.
    rate_limit_per_ip: int = 300

    staff_admin_password: str = "admin-demo-pass"
    staff_agent_password: str = "agent-demo-pass"

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @model_validator(mode="after")
    def _fit_for_production(self) -> Self:
        problems = dev_secrets(
            {
                "BACKEND_SERVICE_TOKEN": self.backend_service_token,
                "BACKEND_SECRET_KEY": self.backend_secret_key,
            }
        )
        if not self.smtp_enabled:
            problems.append("SMTP_HOST is unset: one-time codes would wait in the development mailbox")
        refuse_in_production(self.app_env, "The backend", problems)
        return self

    @property
    def uses_dev_secrets(self) -> bool:
        return self.backend_service_token == DEV_SERVICE_TOKEN or self.backend_secret_key == DEV_SECRET_KEY
