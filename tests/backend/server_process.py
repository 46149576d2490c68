"""Running the real service (python -m backend) in a subprocess on a free port, its output in a file."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from api_helpers import SECRET_KEY, SERVICE_TOKEN
from common.dev import REPO_ROOT

T = TypeVar("T")
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(database_url: str, **overrides: str) -> dict[str, str]:
    return (
        os.environ
        | {
            "DATABASE_URL": database_url,
            "BACKEND_SERVICE_TOKEN": SERVICE_TOKEN,
            "BACKEND_SECRET_KEY": SECRET_KEY,
            "BACKEND_HOST": "127.0.0.1",
            "OUTBOX_POLL_SECONDS": "0.1",
            "SMTP_HOST": "",
            "SMTP_USER": "",
            "SMTP_PASSWORD": "",
        }
        | overrides
    )


def run_module(module: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as output:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_server(database_url: str, log: Path, **env: str) -> Iterator[Server]:
    port = free_port()
    process = run_module("backend", service_env(database_url, BACKEND_PORT=str(port), **env), log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield Server(url, log)
    finally:
        stop(process)


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


def load_demo_data(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.demo"],
        cwd=REPO_ROOT,
        env=service_env(database_url),
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()


def wait_for(condition: Callable[[], T | None], timeout: float = 15) -> T:
    """The first true result of condition(), polled every 0.1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError("timed out waiting")
