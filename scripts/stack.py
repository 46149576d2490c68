"""Starts the whole stack (account backend, action server, Rasa server, channel service), one
after the other, each once the one before is healthy; stops them all on exit.

python -m scripts.stack serve   # start them and keep them running until Ctrl-C
python -m scripts.stack chat    # start them, chat in the terminal, stop them on exit

The backend gets the demo data (python -m backend.demo) on its database, by default
build/backend.db; set DATABASE_URL for another one. Rasa keeps its conversations in an SQL
tracker store (build/rasa-tracker.db). The channel service starts Telegram when
TELEGRAM_BOT_TOKEN is set.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
PYTHON = str(ROOT / ".venv/bin/python")
RASA_PYTHON = str(ROOT / ".venv-rasa/bin/python")
# `rasa …` with the project's fix to Rasa's internals (bot/rasa_server.py); run from bot/.
RASA_SERVER = [RASA_PYTHON, "-m", "rasa_server"]


@dataclass(frozen=True)
class Ports:
    rasa: int = int(os.environ.get("RASA_PORT", 5005))
    actions: int = int(os.environ.get("ACTION_PORT", 5055))
    backend: int = int(os.environ.get("BACKEND_PORT", 8001))
    channels: int = int(os.environ.get("CHANNELS_PORT", 8000))

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on now, chosen by the system (for tests that run beside a stack)."""
        sockets = [socket.socket() for _ in range(4)]
        try:
            for probe in sockets:
                probe.bind(("127.0.0.1", 0))
            return cls(*(probe.getsockname()[1] for probe in sockets))
        finally:
            for probe in sockets:
                probe.close()

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend}"

    @property
    def channels_url(self) -> str:
        return f"http://127.0.0.1:{self.channels}"


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    health_url: str

    @property
    def port(self) -> int:
        return int(httpx.URL(self.health_url).port or 80)


@dataclass(frozen=True)
class Databases:
    """Where each service keeps its data: SQLite files under `folder` unless a URL is given."""

    folder: Path = ROOT / "build"
    backend_url: str | None = os.environ.get("DATABASE_URL")
    channels_url: str | None = os.environ.get("CHANNELS_DATABASE_URL")

    @classmethod
    def isolated(cls, folder: Path) -> Databases:
        """SQLite files in `folder` only, whatever the environment says (for tests)."""
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


# Rasa listens on loopback only, where its HTTP API (/model/parse, trackers) is open to local
# processes; set RASA_TOKEN to require a token as well (the channel service then sends it).
RASA_TOKEN = os.environ.get("RASA_TOKEN", "")
DEMO_PORTAL = "Demo Clinic Online"


def services(ports: Ports, databases: Databases, channels_env: dict[str, str]) -> list[Service]:
    """The processes, in the order they start."""
    rasa = [
        *RASA_SERVER,
        "run",
        "--enable-api",
        *(["--auth-token", RASA_TOKEN] if RASA_TOKEN else []),
        "--interface",
        "127.0.0.1",
        "--port",
        str(ports.rasa),
        "--model",
        "models/current.tar.gz",
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]
    backend_env = {"BACKEND_PORT": str(ports.backend), "DATABASE_URL": databases.backend}
    return [
        Service("backend", [PYTHON, "-m", "backend"], backend_env, ROOT, f"{ports.backend_url}/health"),
        Service(
            "actions",
            [
                PYTHON,
                *("-m", "rasa_sdk", "--actions", "actions", "--port", str(ports.actions)),
                # LOG_LEVEL=DEBUG (Rasa's own variable) puts the action server at debug level too.
                *(["--debug"] if os.environ.get("LOG_LEVEL", "").upper() == "DEBUG" else []),
            ],
            # The organisation's own patient portal, whose accounts the recovery forms serve
            # (never the Trusted Profile); the demo names a demo portal.
            {"BACKEND_URL": ports.backend_url, "PORTAL_NAME": os.environ.get("PORTAL_NAME", DEMO_PORTAL)},
            BOT,
            f"{ports.actions_url}/health",
        ),
        Service(
            "rasa",
            rasa,
            {
                "ACTION_ENDPOINT_URL": f"{ports.actions_url}/webhook",
                "RASA_TRACKER_DB": str(databases.rasa_tracker),
                "TF_CPP_MIN_LOG_LEVEL": "3",
            },
            BOT,
            f"{ports.rasa_url}/status?token={RASA_TOKEN}",
        ),
        Service(
            "channels",
            [PYTHON, "-m", "channels"],
            {
                "CHANNELS_PORT": str(ports.channels),
                "CHANNELS_PUBLIC_URL": ports.channels_url,
                "CHANNELS_DATABASE_URL": databases.channels,
                "RASA_URL": ports.rasa_url,
                "RASA_TOKEN": RASA_TOKEN,
                "ACTIONS_URL": ports.actions_url,
                "RASA_TRACKER_DB_URL": f"sqlite:///{databases.rasa_tracker}",
                "BACKEND_URL": ports.backend_url,
                **channels_env,
            },
            ROOT,
            f"{ports.channels_url}/ready",
        ),
    ]


class Stack:
    """The running processes; a test may stop and start one of them again."""

    def __init__(
        self,
        ports: Ports,
        databases: Databases,
        timeout: float,
        channels_env: dict[str, str] | None = None,
        topology: list[Service] | None = None,
    ) -> None:
        """`topology`: other processes than the usual four (deploy/scale starts several of each)."""
        self.ports = ports
        self.databases = databases
        self.timeout = timeout
        chosen = topology or services(ports, databases, channels_env or {})
        self._services = {s.name: s for s in chosen}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def pids(self) -> dict[str, int]:
        """The running processes' ids by service name."""
        return {name: process.pid for name, process in self._processes.items() if process.poll() is None}

    def log_of(self, name: str) -> Path:
        return self.databases.logs / f"{name}.log"

    def clear_logs(self) -> None:
        for name in self._services:
            self.log_of(name).unlink(missing_ok=True)

    def load_demo_data(self) -> None:
        env = {**os.environ, **self._services["backend"].env}
        subprocess.run([PYTHON, "-m", "backend.demo"], cwd=ROOT, env=env, check=True)

    def start(self, *names: str) -> None:
        names = names or tuple(self._services)
        for name in names:
            service = self._services[name]
            _refuse_port_in_use(name, service.port)
            self.databases.logs.mkdir(parents=True, exist_ok=True)
            log = self.log_of(name).open("a")
            self._processes[name] = subprocess.Popen(
                service.command,
                cwd=service.cwd,
                env={**os.environ, **service.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for name in names:
            self._wait_healthy(name)

    def stop(self, *names: str) -> None:
        for name in names or tuple(reversed(self._processes)):
            process = self._processes.pop(name, None)
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def kill(self, name: str) -> None:
        """A crash: SIGKILL, no clean shut-down (the fault tests use it)."""
        process = self._processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def _wait_healthy(self, name: str) -> None:
        process, url = self._processes[name], self._services[name].health_url
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_of(name)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{name} not healthy after {self.timeout:.0f} s; see {self.log_of(name)}")


def _refuse_port_in_use(name: str, port: int) -> None:
    """Fail early: a health check would otherwise accept whatever else answers on the port."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"{name}: port {port} is already in use (another stack running?)")


@contextlib.contextmanager
def running_stack(
    ports: Ports = Ports(),
    timeout: float = 180,
    databases: Databases = Databases(),
    channels_env: dict[str, str] | None = None,
    only: tuple[str, ...] = (),
) -> Iterator[Stack]:
    """The backend (with demo data), the action server, the Rasa server with the trained model
    and the channel service (or `only` some of them), stopped on exit."""
    stack = Stack(ports, databases, timeout, channels_env)
    stack.clear_logs()
    stack.load_demo_data()
    try:
        stack.start(*only)
        yield stack
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["chat", "serve"])
    args = parser.parse_args()
    print("Starting the backend, the action server, Rasa and the channels (about a minute)…", flush=True)
    with running_stack() as stack:
        ports = stack.ports
        telegram = "on" if os.environ.get("TELEGRAM_BOT_TOKEN") else "off (set TELEGRAM_BOT_TOKEN)"
        print(
            f"\nChat with the bot:   {ports.channels_url}/  (the website widget's demo page)\n"
            f"Helpdesk console:    {ports.channels_url}/console  (demo sign-in: agent / agent-demo-pass)\n"
            f"Telegram:            {telegram}\n"
            f"Account backend:     {ports.backend_url}/docs  (demo people: backend/README.md)\n"
            f"Rasa:                {ports.rasa_url}  (REST: /webhooks/rest/webhook)\n"
            f"Logs:                {stack.databases.logs}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        if args.mode == "chat":
            from channels.terminal import chat

            chat(ports.rasa_url)
        else:
            _stop_on_signals()
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0


def _stop_on_signals() -> None:
    """Ctrl-C, or SIGTERM from a supervisor, stops the stack (a background start may have
    inherited SIGINT as ignored)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    sys.exit(main())
