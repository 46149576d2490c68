"""The backend's development mailbox: where one-time codes land when no SMTP server is set.

python -m scripts.mailbox olena.kovalenko@example.org   # the newest one-time code sent there
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from typing import Any

from common.backend_client import BackendClient
from common.environment import DEV_SERVICE_TOKEN

CODE = re.compile(r"\b(\d{6})\b")


async def _messages(backend_url: str, address: str) -> list[dict[str, Any]]:
    token = os.environ.get("BACKEND_SERVICE_TOKEN", DEV_SERVICE_TOKEN)
    async with BackendClient(backend_url, token) as backend:
        return await backend.mailbox(address)


def messages(backend_url: str, address: str) -> list[dict[str, Any]]:
    """The messages sent to `address`, newest first (raises common.backend_client.ApiError)."""
    return asyncio.run(_messages(backend_url, address))


def new_messages(backend_url: str, address: str, seen: set[int], timeout: float = 20) -> list[dict[str, Any]]:
    """Messages to `address` not in `seen`, waiting up to `timeout` seconds for the first."""
    deadline = time.monotonic() + timeout
    while True:
        fresh = [m for m in messages(backend_url, address) if m["id"] not in seen]
        if fresh or time.monotonic() > deadline:
            return fresh
        time.sleep(0.2)


def new_code(backend_url: str, address: str, seen: set[int]) -> str:
    """The one-time code of the newest message to `address` not in `seen`."""
    for message in new_messages(backend_url, address, seen):
        if found := CODE.search(message["body"]):
            return found.group(1)
    raise LookupError(f"no new code for {address}")


def main() -> int:
    backend_url = f"http://127.0.0.1:{os.environ.get('BACKEND_PORT', 8001)}"
    print(new_code(backend_url, sys.argv[1], seen=set()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
