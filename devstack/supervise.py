"""Process supervision, written once: start a process with its output in a log file, wait until
it is healthy, stop it (its whole process group: SIGTERM, then SIGKILL), ports nothing
listens on, and the CPU time a process has used (the scale test's and the benchmark's CPU per
message). `make run` (devstack/__main__.py), the tests (tests/support/stack.py), the benchmark
(bench/servers.py) and the scale test (deploy/scale) start every process through here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

Check = Callable[[], bool]


@dataclass(frozen=True)
class Service:
    """One process: how to start it, and how to tell it is ready.

    `health` is a URL that answers 200 when ready, or a function that says so (for a process
    that does not speak HTTP, such as Redis). `port`, when given, must be free before the start:
    a health check would otherwise accept whatever else answers there."""

    name: str
    command: Sequence[str]
    health: str | Check
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    port: int | None = None

    def is_healthy(self) -> bool:
        if not isinstance(self.health, str):
            return self.health()
        return http_ok(self.health, timeout=2)


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, chosen by the system (held together, so all differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def free_port() -> int:
    [port] = free_ports(1)
    return port


def refuse_port_in_use(name: str, port: int) -> None:
    """Fails early when something already listens on the port (another stack running?)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"{name}: port {port} is already in use (another stack running?)")


def http_ok(url: str, timeout: float = 1) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=timeout).status_code == 200
    return False


def spawn(service: Service, log: Path) -> subprocess.Popen[bytes]:
    """Starts the service in a process group of its own (stop() ends its children too), its
    output appended to `log`; the environment is this process's with the service's on top."""
    if service.port is not None:
        refuse_port_in_use(service.name, service.port)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as output:
        return subprocess.Popen(
            list(service.command),
            cwd=service.cwd,
            env={**os.environ, **service.env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_healthy(service: Service, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Returns once the service is healthy; fails when its process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {process.returncode}; see {log}")
        if service.is_healthy():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{service.name} not healthy after {timeout:.0f} s; see {log}")


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM to the process group, SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def kill(process: subprocess.Popen[bytes]) -> None:
    """A crash: SIGKILL to the process group, no clean shut-down."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def cpu_seconds(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU time (user + system) each process and its descendants have used so far, from /proc.
    The descendants count: the action server's Sanic does its work in a worker process."""
    used = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):  # the service is not running
            used[name] = _own_cpu_seconds(pid)
            for child in _descendants(pid):
                with contextlib.suppress(OSError):  # ended since: counted in its parent's cutime
                    used[name] += _own_cpu_seconds(child)
    return used


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):  # ended meanwhile
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in map(int, (task / "children").read_text().split()):
                found += [child, *_descendants(child)]
    return found


def _own_cpu_seconds(pid: int) -> float:
    """utime + stime, and cutime + cstime: its children that ended and were waited for."""
    # Fields after the command's closing parenthesis: utime, stime, cutime, cstime are the 12th to 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Stack:
    """Running services by name, their logs in one folder; a test may stop, kill and start one
    of them again."""

    def __init__(self, services: Sequence[Service], logs: Path, timeout: float) -> None:
        self.services = {service.name: service for service in services}
        self.logs = logs
        self.timeout = timeout
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def log_of(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def clear_logs(self) -> None:
        for name in self.services:
            self.log_of(name).unlink(missing_ok=True)

    def pids(self) -> dict[str, int]:
        """The running processes' ids by service name."""
        return {name: process.pid for name, process in self._processes.items() if process.poll() is None}

    def start(self, *names: str) -> None:
        """Starts these services (all when none is named) together, then waits until each is healthy."""
        names = names or tuple(self.services)
        for name in names:
            self._processes[name] = spawn(self.services[name], self.log_of(name))
        for name in names:
            wait_healthy(self.services[name], self._processes[name], self.timeout, self.log_of(name))

    def stop(self, *names: str) -> None:
        """Stops these services (all, last started first, when none is named)."""
        for name in names or tuple(reversed(self._processes)):
            process = self._processes.pop(name, None)
            if process is not None:
                stop(process)

    def kill(self, name: str) -> None:
        kill(self._processes.pop(name))


@contextlib.contextmanager
def supervise(
    services: Sequence[Service], logs: Path, timeout: float, groups: Sequence[Sequence[str]] = ()
) -> Iterator[Stack]:
    """Starts the services group by group (each group together, once the group before is
    healthy; by default one service after the other, in order), yields the Stack and stops every
    service on exit, also when a start fails."""
    stack = Stack(services, logs, timeout)
    try:
        for group in groups or [(service.name,) for service in services]:
            stack.start(*group)
        yield stack
    finally:
        stack.stop()
