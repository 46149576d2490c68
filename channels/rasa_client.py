"""Rasa over HTTP: the REST channel for messages, the HTTP API for a conversation's tracker.

Rasa's requests go through httpcore, the connection pool under httpx, without httpx's client (URL
and header models, cookies, redirects, auth hooks), which cost a third or more of each request's
CPU. The action server's health check before every turn goes through the same pool, and turns that
arrive while a check is on its way share its answer: under load one request serves many turns."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol
from urllib.parse import quote

import httpcore


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error.

    `may_be_processing`: the request reached Rasa, which may still be working on it (a timeout)."""

    def __init__(self, message: str, may_be_processing: bool = False) -> None:
        super().__init__(message)
        self.may_be_processing = may_be_processing


class RasaApi(Protocol):
    """What the channel service asks of Rasa. RasaClient does it over HTTP; the fast tests use an
    in-memory fake that keeps trackers as Rasa does (tests/support/fake_rasa.py)."""

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]: ...

    async def resume(self, sender: str) -> None: ...

    async def append_user_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None: ...

    async def append_bot_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None: ...

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]: ...

    async def actions_ready(self) -> bool: ...

    async def is_ready(self) -> bool: ...


# What a request can fail with: the network, a timeout, a response that is no HTTP.
HTTP_ERRORS = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)
# The action server's health answers at once or it is not healthy.
HEALTH_TIMEOUTS = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float, actions_url: str = "") -> None:
        self._base_url = base_url.rstrip("/")
        self._query = f"?token={quote(token, safe='')}" if token else ""
        self._timeouts = {"connect": 3.0, "read": timeout, "write": timeout, "pool": timeout}
        # The action server behind Rasa: while it is down Rasa still answers, but with the events
        # of every custom action lost (a form forgets its step, a new conversation gets fallbacks).
        self._actions_health = f"{actions_url.rstrip('/')}/health" if actions_url else ""
        self._health_check: asyncio.Future[bool] | None = None
        # httpx's limits; connection errors before anything was sent are safe to retry.
        self._http = httpcore.AsyncConnectionPool(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0, retries=2
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to one user message: [{"text", "buttons", "custom", …}]."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        replies = await self._request("POST", "/webhooks/rest/webhook", body, sender)
        return replies if isinstance(replies, list) else []

    async def resume(self, sender: str) -> None:
        """Give the conversation back to the bot, listening (as after any turn)."""
        await self.append_events(sender, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])

    async def append_user_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None:
        """Record what the user wrote to a person, so that the tracker stays complete.

        As in a turn of Rasa's own, the bot listened before the user spoke: with the listen
        recorded, the rules apply again from the first message after the hand-back."""
        now = time.time()
        listen = {"event": "action", "name": "action_listen", "timestamp": now}
        # Not parsed: the message was for a person. Rasa needs parse_data all the same.
        parse_data = {"text": text, "intent": {}, "entities": []}
        event = {
            "event": "user",
            "text": text,
            "parse_data": parse_data,
            "timestamp": now,
            "metadata": metadata,
        }
        await self.append_events(sender, [listen, event])

    async def append_bot_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None:
        event = {"event": "bot", "text": text, "timestamp": time.time(), "metadata": metadata}
        await self.append_events(sender, [event])

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        await self._request("POST", f"/conversations/{sender}/tracker/events", events, sender)

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events as Rasa's tracker store holds them."""
        tracker = await self._request("GET", f"/conversations/{sender}/tracker")
        return tracker.get("events") or []

    async def actions_ready(self) -> bool:
        """Whether the action server answers its health check (always, when none is configured).
        A check on its way when the turn arrives answers for it too (shielded: a waiter cut off by
        its own timeout does not cancel the others' check)."""
        if not self._actions_health:
            return True
        if self._health_check is None or self._health_check.done():
            self._health_check = asyncio.ensure_future(self._ask_actions())
        return await asyncio.shield(self._health_check)

    async def _ask_actions(self) -> bool:
        try:
            response = await self._http.request(
                "GET", self._actions_health, extensions={"timeout": HEALTH_TIMEOUTS}
            )
        except HTTP_ERRORS:
            return False
        return response.status == 200

    async def is_ready(self) -> bool:
        try:
            status = await self._request("GET", "/status")
        except RasaUnavailable:
            return False
        return bool(status.get("model_file"))

    async def _request(self, method: str, path: str, body: Any = None, sender: str | None = None) -> Any:
        """Rasa's JSON answer; `sender` routes the request (_routing)."""
        headers = _routing(sender) if sender else []
        content = None
        if body is not None:
            headers.append((b"Content-Type", b"application/json"))
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        url = f"{self._base_url}{path}{self._query}"
        try:
            response = await self._http.request(
                method, url, headers=headers, content=content, extensions={"timeout": self._timeouts}
            )
        except HTTP_ERRORS as error:
            processing = isinstance(error, httpcore.TimeoutException) and not isinstance(
                error, httpcore.ConnectTimeout | httpcore.PoolTimeout
            )
            raise RasaUnavailable(f"{method} {path}: {type(error).__name__}", processing) from error
        if response.status >= 400:
            raise RasaUnavailable(f"{method} {path}: HTTP {response.status}")
        return json.loads(response.content)


def _routing(sender: str) -> list[tuple[bytes, bytes]]:
    """Names the conversation for a load balancer in front of several Rasa servers, which sends
    every request of a conversation to the same server (deploy/): the REST webhook has the sender
    only in its JSON body. Rasa itself ignores the header."""
    return [(b"X-Conversation-Id", sender.encode())]
