"""The account backend for the actions: the shared client (common/backend_client.py), one per action
server process, so that calls reuse its connections.

An answer the contract names raises `Refused` (`ApiError`, with the backend's stable error code);
anything that leaves the person without an answer from the service raises `Unavailable`
(`BackendUnavailable`, a kind of ApiError: catch it first).
"""

from __future__ import annotations

import asyncio
import os

import httpx

from common.backend_client import ApiError, BackendClient, BackendUnavailable
from common.environment import DEV_SERVICE_TOKEN

# A person waits for the answer: shorter than the channel service's calls.
TIMEOUT = httpx.Timeout(5.0, connect=2.0)

Refused = ApiError
Unavailable = BackendUnavailable

_client: tuple[tuple[str, str, asyncio.AbstractEventLoop], BackendClient] | None = None


def backend() -> BackendClient:
    """The process's client, for BACKEND_URL and BACKEND_SERVICE_TOKEN; made on first use in the
    running event loop (the action server has one; a new loop, e.g. a test's, gets a new client)."""
    global _client
    key = (
        os.environ.get("BACKEND_URL", "http://127.0.0.1:8001"),
        os.environ.get("BACKEND_SERVICE_TOKEN", DEV_SERVICE_TOKEN),
        asyncio.get_running_loop(),
    )
    if _client is None or _client[0] != key:
        _client = (key, BackendClient(key[0], key[1], timeout=TIMEOUT))
    return _client[1]


__all__ = ["Refused", "Unavailable", "backend"]
