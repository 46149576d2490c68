"""Starts the bot's processes (action server, Rasa server), waits until they are healthy.

python -m scripts.stack chat    # start both, chat in the terminal, stop both on exit
python -m scripts.stack serve   # start both and keep them running until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
LOGS = ROOT / "build" / "logs"


@dataclass(frozen=True)
class Ports:
    rasa: int = int(os.environ.get("RASA_PORT", 5005))
    actions: int = int(os.environ.get("ACTION_PORT", 5055))

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions}"


def _start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{name}.log").open("w")
    return subprocess.Popen(
        command,
        cwd=BOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_healthy(name: str, url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {LOGS / (name + '.log')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{name} not healthy after {timeout:.0f} s; see {LOGS / (name + '.log')}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def running_stack(ports: Ports = Ports(), timeout: float = 180) -> Iterator[Ports]:
    """The action server and the Rasa server with the trained model, stopped on exit."""
    processes = []
    try:
        actions = _start(
            "actions",
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(ports.actions),
            ],
            {},
        )
        processes.append(actions)
        rasa = _start(
            "rasa",
            [
                str(ROOT / ".venv-rasa/bin/rasa"),
                "run",
                "--enable-api",
                "--port",
                str(ports.rasa),
                "--model",
                "models/current.tar.gz",
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            {"ACTION_ENDPOINT_URL": f"{ports.actions_url}/webhook", "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        processes.append(rasa)
        _wait_healthy("actions", f"{ports.actions_url}/health", actions, timeout)
        _wait_healthy("rasa", f"{ports.rasa_url}/status", rasa, timeout)
        yield ports
    finally:
        for process in reversed(processes):
            _stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["chat", "serve"])
    args = parser.parse_args()
    print("Starting the action server and the Rasa server (about a minute)…", flush=True)
    with running_stack() as ports:
        print(f"Rasa: {ports.rasa_url}  (REST: {ports.rasa_url}/webhooks/rest/webhook)")
        print(f"Actions: {ports.actions_url}")
        if args.mode == "chat":
            from channels.terminal import chat

            chat(ports.rasa_url)
        else:
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
