"""Development or production (APP_ENV), and the development values that production refuses.

`make run` and the tests run with the development defaults below, so that the stack starts with no
configuration at all. Deployed with APP_ENV=production, a service that still holds one of them
refuses to start and names the settings to set: a default secret is public (it is in this file),
and the development mailbox would hand one-time codes to anyone who asks it.

Imported by the Rasa environment too (Python 3.10): nothing newer than 3.10 here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

T = TypeVar("T")

AppEnv = Literal["development", "production"]
APP_ENVS: tuple[AppEnv, ...] = ("development", "production")

DEV_SERVICE_TOKEN = "dev-service-token"
DEV_SECRET_KEY = "dev-only-secret-key-change-me-before-any-real-use"
DEV_SLOT_SEAL_KEY = "dev-only-slot-seal-key-change-me-before-any-real-use"


class ProductionRefused(RuntimeError):
    """A service was started in production with development settings."""


def app_env(environ: Mapping[str, str] = os.environ) -> AppEnv:
    """APP_ENV, "development" when unset; any other value is refused rather than guessed."""
    value = environ.get("APP_ENV", "development").strip().lower() or "development"
    for known in APP_ENVS:
        if value == known:
            return known
    raise ProductionRefused(f"APP_ENV={value!r}: expected one of {', '.join(APP_ENVS)}")


def refuse_in_production(env: AppEnv, service: str, problems: list[str]) -> None:
    """Fails the start of `service` in production when any problem (a setting still at its
    development value, named as the variable to set) was found; development only warns elsewhere."""
    if env == "production" and problems:
        raise ProductionRefused(f"{service} refuses to start with APP_ENV=production: " + "; ".join(problems))


def dev_secrets(values: Mapping[str, str | None]) -> list[str]:
    """The variables among `values` (name → value) still at a development default, or empty."""
    development = {DEV_SERVICE_TOKEN, DEV_SECRET_KEY, DEV_SLOT_SEAL_KEY, ""}
    return [
        f"{name} is unset or has its development value"
        for name, value in values.items()
        if (value or "") in development
    ]


def or_exit(start: Callable[[], T]) -> T:
    """What `start` returns (a service's settings); a refusal ends the process with its message
    alone, not a traceback to read it from."""
    try:
        return start()
    except ProductionRefused as error:
        raise SystemExit(str(error)) from None
