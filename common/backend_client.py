"""The account backend's HTTP API (backend/API.md), one typed async client for everyone who calls it:
the action server (bot/actions/backend.py), the channel service and the scripts.

Every call has a timeout; a connection that cannot be opened is retried (the request never reached
the service, so retrying cannot do anything twice). Every failure is one `ApiError(status, code,
message)`: the backend's own error (its status and stable code, backend/API.md), or
`BackendUnavailable` (503, "backend_unavailable") when there is no usable answer (no connection, a
timeout, a server error, not JSON).

Calls go with the service's token (X-Service-Token), except staff calls, which carry the signed-in
staff member's token instead, so that the backend authorises (and audits) the person, not the
service. One client keeps one connection pool: make one per process and close it at the end.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from common.api_models import AccessToken, Deleted, OnboardingStatus, VerificationStarted

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
CONNECT_RETRIES = 2
UNAVAILABLE = "backend_unavailable"


class ApiError(Exception):
    """The backend refused (its status, stable error code and message), or did not answer."""

    def __init__(
        self, status: int, code: str, message: str = "", details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        # The error's other fields (attempts_left, retry_after, …).
        self.details: dict[str, Any] = details or {}


class BackendUnavailable(ApiError):
    """No usable answer: no connection, a timeout, a server error or a body that is not JSON."""

    def __init__(self, message: str) -> None:
        super().__init__(503, UNAVAILABLE, message)


class BackendClient:
    def __init__(
        self,
        base_url: str,
        service_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        """`transport`: tests put an in-memory backend there (httpx.MockTransport)."""
        self._service_headers = {"X-Service-Token": service_token}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport or httpx.AsyncHTTPTransport(retries=CONNECT_RETRIES),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    # a person's verification and record (the action server)

    async def start_verification(self, pesel: str, caller: str) -> VerificationStarted:
        body = await self._call("POST", "/v1/verifications", json={"pesel": pesel, "caller": caller})
        return VerificationStarted.model_validate(body)

    async def confirm_verification(self, verification_id: str, code: str) -> str:
        """The person's short-lived access token."""
        path = f"/v1/verifications/{quote(verification_id, safe='')}/confirm"
        return AccessToken.model_validate(await self._call("POST", path, json={"code": code})).access_token

    async def onboarding(self, access_token: str) -> OnboardingStatus:
        headers = {**self._service_headers, **_bearer(access_token)}
        return OnboardingStatus.model_validate(await self._call("GET", "/v1/me/onboarding", headers=headers))

    async def request_username_reminder(self, email: str, caller: str) -> None:
        await self._call("POST", "/v1/username-reminders", json={"email": email, "caller": caller})

    async def request_password_reset(self, username: str, pesel: str, caller: str) -> None:
        body = {"username": username, "pesel": pesel, "caller": caller}
        await self._call("POST", "/v1/password-resets", json=body)

    # tickets, as the service

    async def open_ticket(self, conversation_id: str, channel: str, language: str, reason: str) -> int:
        """The id of the conversation's open handoff ticket (the backend opens one if none is open)."""
        body = {
            "conversation_id": conversation_id,
            "channel": channel,
            "language": language,
            "reason": reason,
        }
        return int((await self._call("POST", "/v1/tickets", json=body))["id"])

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

    # personal data: a person's request to be forgotten (the staff member's, audited, or the
    # service's for the command line), and the retention period

    async def audit_failure_label(
        self, label: str, language: str | None, digest: str, staff_token: str
    ) -> dict[str, Any]:
        """Writes the audit row of a label given on the failures page; answers with the row
        (staff_username and created_at say who and when)."""
        body = {"label": label, "language": language, "digest": digest}
        return await self._call("POST", "/v1/staff/failure-labels", json=body, headers=_bearer(staff_token))

    async def forget_conversation(self, conversation_id: str, staff_token: str | None = None) -> int:
        """Deletes the conversation's tickets with their messages; returns how many."""
        path = f"/v1/conversations/{quote(conversation_id, safe='')}/tickets"
        headers = None if staff_token is None else _bearer(staff_token)
        return Deleted.model_validate(await self._call("DELETE", path, headers=headers)).deleted

    async def purge_tickets(self, closed_before: datetime) -> int:
        """Deletes the tickets closed before that time with their messages; returns how many."""
        params = {"closed_before": closed_before.isoformat()}
        return Deleted.model_validate(await self._call("DELETE", "/v1/tickets", params=params)).deleted

    # development

    async def mailbox(self, address: str) -> list[dict[str, Any]]:
        """The development mailbox's messages to `address`, newest first (backend/routers/dev_mailbox.py)."""
        messages: list[dict[str, Any]] = (await self._call("GET", "/v1/dev/mailbox", params={"to": address}))[
            "messages"
        ]
        return messages

    async def _call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, path, headers=self._service_headers if headers is None else headers, **kwargs
            )
        except httpx.HTTPError as error:
            raise BackendUnavailable(type(error).__name__) from error
        if response.status_code >= 500:
            raise BackendUnavailable(f"HTTP {response.status_code}")
        # The backend answers every call with a JSON object (backend/API.md).
        try:
            body = response.json() if response.content else {}
        except ValueError as error:
            raise BackendUnavailable("not JSON") from error
        if not isinstance(body, dict):
            raise BackendUnavailable("not a JSON object")
        if response.status_code >= 400:
            found = body.get("error")
            shape: dict[str, Any] = found if isinstance(found, dict) else {}
            code, message = str(shape.get("code", "error")), str(shape.get("message", ""))
            details = {key: value for key, value in shape.items() if key not in ("code", "message")}
            raise ApiError(response.status_code, code, message, details)
        return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
