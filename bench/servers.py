"""The servers under load: the whole stack as `make run` starts it (devstack), on free ports and
the bench's own databases, plus a second Rasa server with the stock model that shares the
stack's action server (the same endpoints.yml, a tracker database of its own)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack import Databases, LocalStack, Ports, Stack, free_port, running_stack, supervise
from devstack.project import rasa_service

START_TIMEOUT = 600  # a busy 2-core machine loads a model slowly
STOCK = "rasa (stock)"


@dataclass(frozen=True)
class Servers:
    stack: LocalStack
    startup_seconds: float  # the whole stack, from nothing to every service healthy
    stock_port: int | None  # None: no stock model given
    stock: Stack | None = None

    @property
    def stock_url(self) -> str | None:
        return f"http://127.0.0.1:{self.stock_port}" if self.stock_port else None

    def ports(self) -> dict[str, int]:
        """Each service's port, by the name the report gives it."""
        ports = self.stack.ports
        found = {"backend": ports.backend, "actions": ports.actions, "rasa": ports.rasa}
        found["channels"] = ports.channels
        return found | ({STOCK: self.stock_port} if self.stock_port else {})

    def pids(self) -> dict[str, int]:
        """Each running service's process id, by the name the report gives it."""
        return self.stack.pids() | (self.stock.pids() if self.stock else {})


@contextlib.contextmanager
def running(folder: Path, stock_model: Path | None) -> Iterator[Servers]:
    databases = Databases.isolated(folder)
    started = time.monotonic()
    # No Telegram, whatever the environment says: the bench loads the web path only.
    with running_stack(
        Ports.free(), START_TIMEOUT, databases=databases, channels_env={"TELEGRAM_BOT_TOKEN": ""}
    ) as stack:
        startup = time.monotonic() - started
        if stock_model is None:
            yield Servers(stack, startup, None)
            return
        rasa = stack.services["rasa"]
        stock = rasa_service(
            STOCK,
            free_port(),
            "endpoints.yml",
            {**rasa.env, "RASA_TRACKER_DB": str(databases.folder / "stock-tracker.db")},
            model=stock_model,
        )
        with supervise([stock], databases.logs, START_TIMEOUT) as stock_stack:
            yield Servers(stack, startup, stock.port, stock_stack)
