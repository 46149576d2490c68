"""An ASGI app (a fake service, or the channel service itself) served by uvicorn in a thread of
the test process, on a free port known before it starts."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn


def bound_socket() -> socket.socket:
    """A listening-ready socket on a free local port (so that a server's URL is known before it starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServerThread:
    """An ASGI app under uvicorn in a thread of the test process, with its own event loop."""

    def __init__(
        self,
        app: Any,
        sock: socket.socket | None = None,
        on_start: Callable[[], Any] | None = None,
        **options: Any,
    ) -> None:
        """`options`: more of uvicorn.Config's (the channel service's WebSocket settings)."""
        self._sock = sock or bound_socket()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **options))
        self._on_start = on_start
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 60) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {self.url} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        background = asyncio.create_task(self._on_start()) if self._on_start else None
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            if background:
                background.cancel()
