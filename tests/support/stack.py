"""The project's services for a test session (devstack), always on free ports and databases of
the session's own, and what tests read back from them (Rasa's tracker)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest

from devstack import Databases, LocalStack, Ports, running_stack
from devstack.project import RASA_TOKEN
from tests.support.telegram_api import FakeBotApi

# Generous: on two busy cores Rasa alone takes one to three minutes to load its model.
START_TIMEOUT = 480.0


@contextlib.contextmanager
def stack_for_tests(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    ports: Ports | None = None,
    only: Sequence[str] = (),
    channels_env: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    rasa_env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> Iterator[LocalStack]:
    """The backend with demo data, the action server, Rasa with the trained model and the channel
    service (or `only` some), on `ports` (free ones by default); `env` is set for every service,
    `channels_env` for the channel service only, `rasa_env` for Rasa only. Stopped on exit."""
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with running_stack(ports or Ports.free(), timeout, databases, channels_env, only, rasa_env) as stack:
            yield stack


def telegram_env(bot_api: FakeBotApi, token: str) -> dict[str, str]:
    """The channel service's settings for a bot that polls the local Bot API server."""
    bot_api.bot(token)
    return {
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_BASE_URL": bot_api.base_url,
        "TELEGRAM_BASE_FILE_URL": bot_api.base_file_url,
    }


def tracker(stack: LocalStack, conversation_id: str) -> dict[str, Any]:
    """The conversation as Rasa's tracker store holds it (Rasa's own port)."""
    url = f"{stack.ports.rasa_url}/conversations/{conversation_id}/tracker"
    response = httpx.get(url, params={"token": RASA_TOKEN} if RASA_TOKEN else None, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def user_events(stack: LocalStack, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in tracker(stack, conversation_id)["events"] if e["event"] == "user"]


def healthy(stack: LocalStack) -> bool:
    """The channel service answers its readiness check."""
    return httpx.get(f"{stack.ports.channels_url}/ready", timeout=10).status_code == 200
