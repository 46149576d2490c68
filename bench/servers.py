"""The servers under load: the whole stack as `make run` starts it (scripts/stack.py), on the
bench's own ports and databases, plus a second Rasa server with the stock model that shares the
stack's action server (the same endpoints.yml, a tracker database of its own)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.stack import Databases, Ports, Stack, running_stack, services

PORTS = Ports(rasa=7005, actions=7055, backend=7001, channels=7000)
STOCK_PORT = 7006
START_TIMEOUT = 600  # a busy 2-core machine loads a model slowly


@dataclass(frozen=True)
class Servers:
    stack: Stack
    startup_seconds: float  # the whole stack, from nothing to every service healthy
    stock_url: str | None  # None: no stock model given

    def ports(self) -> dict[str, int]:
        """Each service's port, by the name the report gives it."""
        ports = self.stack.ports
        found = {"backend": ports.backend, "actions": ports.actions, "rasa": ports.rasa}
        found["channels"] = ports.channels
        return found | ({"rasa (stock)": STOCK_PORT} if self.stock_url else {})


@contextlib.contextmanager
def running(folder: Path, stock_model: Path | None) -> Iterator[Servers]:
    databases = Databases.isolated(folder)
    started = time.monotonic()
    # No Telegram, whatever the environment says: the bench loads the web path only.
    with running_stack(
        PORTS, START_TIMEOUT, databases=databases, channels_env={"TELEGRAM_BOT_TOKEN": ""}
    ) as stack:
        startup = time.monotonic() - started
        if stock_model is None:
            yield Servers(stack, startup, None)
            return
        with stock_rasa(databases, stock_model) as stock_url:
            yield Servers(stack, startup, stock_url)


@contextlib.contextmanager
def stock_rasa(databases: Databases, model: Path) -> Iterator[str]:
    """`rasa run` as the stack runs it, with the stock model on STOCK_PORT."""
    [rasa] = [s for s in services(PORTS, databases, {}) if s.name == "rasa"]
    command = list(rasa.command)
    command[command.index("--port") + 1] = str(STOCK_PORT)
    command[command.index("--model") + 1] = str(model)
    env = {**os.environ, **rasa.env, "RASA_TRACKER_DB": str(databases.folder / "stock-tracker.db")}
    url = f"http://127.0.0.1:{STOCK_PORT}"
    with (databases.logs / "rasa-stock.log").open("a") as log:
        process = subprocess.Popen(
            command, cwd=rasa.cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_healthy(process, f"{url}/status")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_healthy(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stock Rasa server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the stock Rasa server not healthy after {START_TIMEOUT} s")
