"""Whether a service answers its health check (`GET <url>` with 200), asked before every turn.

The action server is asked before each message goes to Rasa (channels/rasa_client.py). Through an
HTTP client (its request, header and response models, its pool, anyio's cancel scopes) the asking
cost a quarter of the channel service's event loop under make scale-test's traffic, for one status
code. Here the request is a fixed string of bytes sent on a kept-alive connection, and of the
answer only the status line and the body's length are read: a seventh of httpx's CPU for a GET.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Connections kept open between checks: as many as checks usually overlap.
KEPT = 4


class HealthProbe:
    def __init__(self, url: str, timeout: float = 2.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = parts.scheme == "https"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode("ascii")
        self._timeout = timeout
        self._idle: list[Connection] = []

    async def healthy(self) -> bool:
        """Whether the answer is 200, within the timeout (refused, cut or silent: not healthy)."""
        try:
            async with asyncio.timeout(self._timeout):
                # A kept connection may have been closed by the server since (its keep-alive
                # timeout): that one fails at once, and the next, or a new one, is asked.
                while self._idle:
                    status = await self._ask(self._idle.pop())
                    if status is not None:
                        return status == 200
                connection = await asyncio.open_connection(self._host, self._port, ssl=self._tls or None)
                return await self._ask(connection) == 200
        except (OSError, TimeoutError):
            return False

    async def close(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()

    async def _ask(self, connection: Connection) -> int | None:
        """The status code, or None when the connection failed; kept for the next check when the
        answer's end is known and the server keeps the connection open."""
        reader, writer = connection
        try:
            writer.write(self._request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, keep = _read_head(head)
            if length is not None:
                await reader.readexactly(length)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return None
        except asyncio.CancelledError:
            writer.close()  # timed out mid-answer: the connection's state is unknown
            raise
        if keep and length is not None and len(self._idle) < KEPT:
            self._idle.append(connection)
        else:
            writer.close()
        return status


def _read_head(head: bytes) -> tuple[int, int | None, bool]:
    """The status code, the body's length (None when it has none: chunked, or up to the close) and
    whether the server keeps the connection open, from a response's status line and headers."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, code = status_line.split(" ", 2)[:2]
    if not version.startswith("HTTP/"):
        raise ValueError(f"not an HTTP response: {status_line[:40]!r}")
    headers = {
        name.strip().lower(): value.strip().lower()
        for name, _, value in (line.partition(":") for line in lines)
    }
    length = None if "transfer-encoding" in headers else headers.get("content-length")
    keep = headers.get("connection", "keep-alive" if version == "HTTP/1.1" else "close") != "close"
    return int(code), None if length is None else int(length), keep
