"""The account backend's tickets and staff API (backend/API.md), as the channel service needs it.

The service token is the channel service's own; staff calls carry the signed-in staff member's
token instead, so that the backend authorises (and audits) the person, not the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx


class BackendError(Exception):
    """The backend refused (status and stable error code from its contract) or did not answer (503)."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


class BackendClient:
    def __init__(
        self, base_url: str, service_token: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport`: tests put an in-memory backend there (httpx.MockTransport)."""
        self._service_headers = {"X-Service-Token": service_token}
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(10.0, connect=3.0),
            transport=transport or httpx.AsyncHTTPTransport(retries=2),
        )

    async def close(self) -> None:
        await self._http.aclose()

    # as the service
    async def add_user_message(self, ticket_id: int, text: str) -> None:
        body = {"text": text, "author": "user"}
        await self._call("POST", f"/v1/tickets/{ticket_id}/messages", json=body)

    # as a member of staff
    async def sign_in(self, username: str, password: str, client_ip: str) -> dict[str, Any]:
        """The backend limits failed sign-ins per address: it is told the person's address, or
        every sign-in would come from this service and a few wrong guesses lock out the helpdesk.
        (The backend's uvicorn believes X-Forwarded-For from its trusted proxies only.)"""
        body = {"username": username, "password": password}
        headers = {"X-Forwarded-For": client_ip}
        return await self._call("POST", "/v1/staff/sessions", json=body, headers=headers)

    async def tickets(self, staff_token: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        body = await self._call("GET", "/v1/tickets", params=params, headers=_bearer(staff_token))
        tickets: list[dict[str, Any]] = body["tickets"]
        return tickets

    async def ticket(self, ticket_id: int, staff_token: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/tickets/{ticket_id}", headers=_bearer(staff_token))

    async def reply(self, ticket_id: int, text: str, staff_token: str) -> dict[str, Any]:
        path = f"/v1/tickets/{ticket_id}/messages"
        return await self._call("POST", path, json={"text": text}, headers=_bearer(staff_token))

    async def close_ticket(self, ticket_id: int, staff_token: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/tickets/{ticket_id}/close", headers=_bearer(staff_token))

    async def lookup(self, pesel: str, staff_token: str) -> dict[str, Any]:
        return await self._call(
            "POST", "/v1/staff/lookups", json={"pesel": pesel}, headers=_bearer(staff_token)
        )

    async def audit_failure_label(
        self, label: str, language: str | None, digest: str, staff_token: str
    ) -> dict[str, Any]:
        """Writes the audit row of a label given on the failures page; answers with the row
        (staff_username and created_at say who and when)."""
        body = {"label": label, "language": language, "digest": digest}
        return await self._call("POST", "/v1/staff/failure-labels", json=body, headers=_bearer(staff_token))

    # personal data: a person's request to be forgotten (the staff member's, audited, or the
    # service's for the command line), and the retention period

    async def forget_conversation(self, conversation_id: str, staff_token: str | None = None) -> int:
        """Deletes the conversation's tickets with their messages; returns how many."""
        path = f"/v1/conversations/{quote(conversation_id, safe='')}/tickets"
        headers = None if staff_token is None else _bearer(staff_token)
        return int((await self._call("DELETE", path, headers=headers))["deleted"])

    async def purge_tickets(self, closed_before: datetime) -> int:
        """Deletes the tickets closed before that time with their messages; returns how many."""
        params = {"closed_before": closed_before.isoformat()}
        return int((await self._call("DELETE", "/v1/tickets", params=params))["deleted"])

    async def _call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, path, headers=self._service_headers if headers is None else headers, **kwargs
            )
        except httpx.HTTPError as error:
            raise BackendError(503, "backend_unavailable", type(error).__name__) from error
        if response.status_code >= 500:
            raise BackendError(503, "backend_unavailable", f"HTTP {response.status_code}")
        # The backend answers every call with a JSON object (backend/API.md).
        body: dict[str, Any] = response.json() if response.content else {}
        if response.status_code >= 400:
            details = body.get("error", {})
            raise BackendError(response.status_code, details.get("code", "error"), details.get("message", ""))
        return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
