"""Live updates inside one channel service process: each open widget and console socket has a
queue; publishing puts an update on the queues of whoever watches that conversation.

An update of messages brings them along with the id of the conversation's message before them: a
socket that has sent everything up to that id sends them as they are; any other reads what the
database has after the last id it sent. So a lost or late update costs a little delay, never a
message.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

CONSOLE = "*"  # the console watches every conversation


class Hub:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    @asynccontextmanager
    async def watch(self, conversation_id: str = CONSOLE) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._queues[conversation_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[conversation_id].discard(queue)
            if not self._queues[conversation_id]:
                del self._queues[conversation_id]

    def publish(self, conversation_id: str, update: dict[str, Any]) -> None:
        for key in (conversation_id, CONSOLE):
            for queue in self._queues.get(key, ()):
                if queue.full():
                    # A slow watcher loses only an update; it reads from the database next time.
                    continue
                queue.put_nowait({"conversation_id": conversation_id, **update})
