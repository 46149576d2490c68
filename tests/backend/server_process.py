"""Running the real service (python -m backend) in a subprocess on a free port, its output in a
file, through devstack's supervision (the same start, health check and stop as `make run`)."""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from api_helpers import SECRET_KEY, SERVICE_TOKEN
from common.dev import REPO_ROOT, local_url
from devstack import Service, free_port
from devstack.supervise import spawn, stop, wait_healthy

START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


def service_env(database_url: str, **overrides: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BACKEND_SERVICE_TOKEN": SERVICE_TOKEN,
        "BACKEND_SECRET_KEY": SECRET_KEY,
        "BACKEND_HOST": "127.0.0.1",
        "OUTBOX_POLL_SECONDS": "0.1",
        "SMTP_HOST": "",
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
    } | overrides


def module_service(module: str, env: dict[str, str], port: int | None = None) -> Service:
    """`python -m module` of this interpreter: healthy once /health answers, or at once without a port."""
    health = f"{local_url(port)}/health" if port else (lambda: True)
    return Service(module, [sys.executable, "-m", module], health, REPO_ROOT, env, port)


def run_module(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn(module_service(module, env), log)


@contextlib.contextmanager
def running_server(database_url: str, log: Path, **env: str) -> Iterator[Server]:
    port = free_port()
    service = module_service("backend", service_env(database_url, BACKEND_PORT=str(port), **env), port)
    process = spawn(service, log)
    try:
        wait_healthy(service, process, START_TIMEOUT_SECONDS, log)
        yield Server(local_url(port), log)
    finally:
        stop(process, grace=10)


def load_demo_data(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.demo"],
        cwd=REPO_ROOT,
        env=os.environ | service_env(database_url),
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
