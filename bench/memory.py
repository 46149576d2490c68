"""Resident memory of the services, found by the port each listens on (with their children)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import psutil

MB = 1024 * 1024


def listener(port: int) -> psutil.Process:
    """The process listening on this local TCP port."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    raise LookupError(f"nothing listens on port {port}")


def rss_mb(process: psutil.Process) -> float:
    """The process's resident memory and its children's, in MB (0 once it is gone)."""
    try:
        tree = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in tree if p.is_running()) / MB
    except psutil.NoSuchProcess:
        return 0.0


class Sampler:
    """Samples every service's memory once a second in a thread, while it is running."""

    def __init__(self, ports: dict[str, int], interval: float = 1.0) -> None:
        self.processes = {name: listener(port) for name, port in ports.items()}
        self.interval = interval
        self.samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> dict[str, float]:
        return {name: rss_mb(process) for name, process in self.processes.items()}

    def peak_since(self, since: float) -> dict[str, float]:
        return {
            name: max((mb for at, mb in samples if at >= since), default=0.0)
            for name, samples in self.samples.items()
        }

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            at = time.monotonic()
            for name, mb in self.now().items():
                self.samples[name].append((at, mb))
