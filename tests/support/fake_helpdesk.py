"""The backend's ticket endpoints that the channel service calls during a handoff, in memory, behind
httpx.MockTransport: channels.backend_client.BackendClient talks to it over its real HTTP code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx

from channels.backend_client import BackendClient

BASE_URL = "http://backend.test"
SERVICE_TOKEN = "test-service-token"
STAFF_TOKEN = "test-staff-token"
_TICKET_CALL = re.compile(r"^/v1/tickets/(\d+)/(messages|close)$")


@dataclass
class FakeHelpdesk:
    up: bool = True
    messages: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # ticket → (author, text)
    closed: set[int] = field(default_factory=set)

    def client(self) -> BackendClient:
        return BackendClient(BASE_URL, SERVICE_TOKEN, transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            return httpx.Response(503)
        match = _TICKET_CALL.match(request.url.path)
        if request.method != "POST" or match is None:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": ""}})
        ticket_id, call = int(match[1]), match[2]
        if call == "close":
            self.closed.add(ticket_id)
            return httpx.Response(200, json={"id": ticket_id, "status": "closed"})
        staff = request.headers.get("Authorization") == f"Bearer {STAFF_TOKEN}"
        if not staff and request.headers.get("X-Service-Token") != SERVICE_TOKEN:
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": ""}})
        author = "staff" if staff else json.loads(request.content)["author"]
        self.messages.setdefault(ticket_id, []).append((author, json.loads(request.content)["text"]))
        return httpx.Response(201, json={"staff_username": "agent" if staff else None})
