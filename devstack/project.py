"""This project's services as `make run` starts them: the account backend (with demo data), the
action server, the Rasa server with the trained model and the channel service, started together
and each health-checked, on `make run`'s ports (or free ones), with their databases under one folder.

The scale test (deploy/scale/topology.py) and the benchmark's stock Rasa server
(bench/servers.py) build their services from the same pieces (`rasa_service`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.dev import (
    ACTIONS_PORT,
    BACKEND_PORT,
    BUILD,
    CHANNELS_PORT,
    RASA_PORT,
    REPO_ROOT,
    local_url,
)
from devstack.supervise import Service, Stack, free_ports

ROOT = REPO_ROOT
BOT = ROOT / "bot"
PYTHON = str(ROOT / ".venv/bin/python")
RASA_PYTHON = str(ROOT / ".venv-rasa/bin/python")
# `rasa …` with the project's fix to Rasa's internals (bot/rasa_server.py); run from bot/.
RASA_SERVER = (RASA_PYTHON, "-m", "rasa_server")
MODEL = "models/current.tar.gz"  # from bot/

# Rasa listens on loopback only, where its HTTP API (/model/parse, trackers) is open to local
# processes; set RASA_TOKEN to require a token as well (the channel service then sends it).
RASA_TOKEN = os.environ.get("RASA_TOKEN", "")
# The organisation's own patient portal, whose accounts the recovery forms serve (never the
# Trusted Profile); the demo names a demo portal.
DEMO_PORTAL = "Demo Clinic Online"
ORDER = ("backend", "actions", "rasa", "channels")


@dataclass(frozen=True)
class Ports:
    rasa: int = int(os.environ.get("RASA_PORT", RASA_PORT))
    actions: int = int(os.environ.get("ACTION_PORT", ACTIONS_PORT))
    backend: int = int(os.environ.get("BACKEND_PORT", BACKEND_PORT))
    channels: int = int(os.environ.get("CHANNELS_PORT", CHANNELS_PORT))

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on now, chosen by the system (tests, the benchmark)."""
        return cls(*free_ports(4))

    @property
    def rasa_url(self) -> str:
        return local_url(self.rasa)

    @property
    def actions_url(self) -> str:
        return local_url(self.actions)

    @property
    def backend_url(self) -> str:
        return local_url(self.backend)

    @property
    def channels_url(self) -> str:
        return local_url(self.channels)


@dataclass(frozen=True)
class Databases:
    """Where each service keeps its data: SQLite files under `folder` unless a URL is given."""

    folder: Path = BUILD
    backend_url: str | None = os.environ.get("DATABASE_URL")
    channels_url: str | None = os.environ.get("CHANNELS_DATABASE_URL")

    @classmethod
    def isolated(cls, folder: Path) -> Databases:
        """SQLite files in `folder` only, whatever the environment says (tests, the benchmark)."""
        return cls(folder=folder, backend_url=None, channels_url=None)

    @property
    def backend(self) -> str:
        return self.backend_url or f"sqlite:///{self.folder / 'backend.db'}"

    @property
    def channels(self) -> str:
        return self.channels_url or f"sqlite:///{self.folder / 'channels.db'}"

    @property
    def rasa_tracker(self) -> Path:
        return self.folder / "rasa-tracker.db"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"


def backend_service(name: str, port: int, database_url: str) -> Service:
    env = {"BACKEND_PORT": str(port), "DATABASE_URL": database_url}
    return Service(name, [PYTHON, "-m", "backend"], f"{local_url(port)}/health", ROOT, env, port)


def actions_service(name: str, port: int, backend_url: str, portal: str = "") -> Service:
    command = [PYTHON, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    # LOG_LEVEL=DEBUG (Rasa's own variable) puts the action server at debug level too.
    if os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
        command.append("--debug")
    env = {"BACKEND_URL": backend_url, **({"PORTAL_NAME": portal} if portal else {})}
    return Service(name, command, f"{local_url(port)}/health", BOT, env, port)


def rasa_service(
    name: str, port: int, endpoints: str | Path, env: Mapping[str, str], model: str | Path = MODEL
) -> Service:
    """`rasa run` with the HTTP API on loopback, from bot/."""
    command = [
        *RASA_SERVER,
        "run",
        "--enable-api",
        *(["--auth-token", RASA_TOKEN] if RASA_TOKEN else []),
        *("--interface", "127.0.0.1", "--port", str(port)),
        *("--model", str(model), "--endpoints", str(endpoints), "--credentials", "credentials.yml"),
    ]
    health = f"{local_url(port)}/status?token={RASA_TOKEN}"
    return Service(name, command, health, BOT, {"TF_CPP_MIN_LOG_LEVEL": "3", **env}, port)


def channels_service(name: str, port: int, env: Mapping[str, str]) -> Service:
    env = {"CHANNELS_PORT": str(port), "RASA_TOKEN": RASA_TOKEN, **env}
    return Service(name, [PYTHON, "-m", "channels"], f"{local_url(port)}/ready", ROOT, env, port)


def services(
    ports: Ports,
    databases: Databases,
    channels_env: Mapping[str, str],
    rasa_env: Mapping[str, str] | None = None,
) -> list[Service]:
    """The four processes of `make run`, in the order they start; `rasa_env` overrides Rasa's
    settings (a test puts a proxy before the action server)."""
    return [
        backend_service("backend", ports.backend, databases.backend),
        actions_service(
            "actions", ports.actions, ports.backend_url, os.environ.get("PORTAL_NAME", DEMO_PORTAL)
        ),
        rasa_service(
            "rasa",
            ports.rasa,
            "endpoints.yml",
            {
                "ACTION_ENDPOINT_URL": f"{ports.actions_url}/webhook",
                "RASA_TRACKER_DB": str(databases.rasa_tracker),
                **(rasa_env or {}),
            },
        ),
        channels_service(
            "channels",
            ports.channels,
            {
                "CHANNELS_PUBLIC_URL": ports.channels_url,
                "CHANNELS_DATABASE_URL": databases.channels,
                "RASA_URL": ports.rasa_url,
                "ACTIONS_URL": ports.actions_url,
                "RASA_TRACKER_DB_URL": f"sqlite:///{databases.rasa_tracker}",
                "BACKEND_URL": ports.backend_url,
                **channels_env,
            },
        ),
    ]


def load_demo_data(backend: Service) -> None:
    """The backend's demo people (python -m backend.demo) on the backend service's database."""
    env = {**os.environ, **backend.env}
    subprocess.run([PYTHON, "-m", "backend.demo"], cwd=ROOT, env=env, check=True)


class LocalStack(Stack):
    """The four services of `make run`, with their ports and databases."""

    def __init__(
        self,
        ports: Ports,
        databases: Databases,
        timeout: float,
        channels_env: Mapping[str, str],
        rasa_env: Mapping[str, str] | None = None,
    ):
        super().__init__(services(ports, databases, channels_env, rasa_env), databases.logs, timeout)
        self.ports = ports
        self.databases = databases


@contextlib.contextmanager
def running_stack(
    ports: Ports | None = None,
    timeout: float = 180,
    databases: Databases | None = None,
    channels_env: Mapping[str, str] | None = None,
    only: Sequence[str] = (),
    rasa_env: Mapping[str, str] | None = None,
) -> Iterator[LocalStack]:
    """The backend (with demo data), the action server, the Rasa server with the trained model
    and the channel service (or `only` some of them), started together, returning once every one
    is healthy; stopped on exit."""
    stack = LocalStack(ports or Ports(), databases or Databases(), timeout, channels_env or {}, rasa_env)
    stack.clear_logs()
    load_demo_data(stack.services["backend"])
    try:
        stack.start(*(only or ORDER))
        yield stack
    finally:
        stack.stop()
