"""The account backend's HTTP API (backend/API.md), as the actions need it.

Every call has a timeout; a connection that cannot be opened is retried (the request never
reached the service, so retrying cannot do anything twice). Anything that leaves the person
without an answer from the service raises Unavailable; an answer the contract names raises
Refused with its stable error code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from common.environment import DEV_SERVICE_TOKEN

TIMEOUT = httpx.Timeout(5.0, connect=2.0)
CONNECT_RETRIES = 2


class Unavailable(Exception):
    """The backend did not answer, or answered with a server error."""


class Refused(Exception):
    """The backend answered with an error of the contract (invalid_code, rate_limited, …)."""

    def __init__(self, status: int, code: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Verification:
    verification_id: str
    expires_in: int


class Backend:
    def __init__(self, base_url: str, service_token: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"X-Service-Token": service_token}

    @classmethod
    def from_environment(cls) -> Backend:
        return cls(
            os.environ.get("BACKEND_URL", "http://127.0.0.1:8001"),
            os.environ.get("BACKEND_SERVICE_TOKEN", DEV_SERVICE_TOKEN),
        )

    async def start_verification(self, pesel: str, caller: str) -> Verification:
        body = await self._call("POST", "/v1/verifications", json={"pesel": pesel, "caller": caller})
        return Verification(body["verification_id"], body["expires_in"])

    async def confirm_verification(self, verification_id: str, code: str) -> str:
        """The person's short-lived access token."""
        path = f"/v1/verifications/{verification_id}/confirm"
        return (await self._call("POST", path, json={"code": code}))["access_token"]

    async def onboarding(self, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        return await self._call("GET", "/v1/me/onboarding", headers=headers)

    async def request_username_reminder(self, email: str, caller: str) -> None:
        await self._call("POST", "/v1/username-reminders", json={"email": email, "caller": caller})

    async def request_password_reset(self, username: str, pesel: str, caller: str) -> None:
        body = {"username": username, "pesel": pesel, "caller": caller}
        await self._call("POST", "/v1/password-resets", json=body)

    async def open_ticket(self, conversation_id: str, channel: str, language: str, reason: str) -> int:
        """The id of the conversation's open handoff ticket (the backend opens one if none is open)."""
        body = {"conversation_id": conversation_id, "channel": channel, "language": language}
        return (await self._call("POST", "/v1/tickets", json={**body, "reason": reason}))["id"]

    async def _call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        transport = httpx.AsyncHTTPTransport(retries=CONNECT_RETRIES)
        async with httpx.AsyncClient(
            base_url=self._base_url, headers=self._headers, timeout=TIMEOUT, transport=transport
        ) as client:
            try:
                response = await client.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                raise Unavailable(type(error).__name__) from error
        if response.status_code >= 500:
            raise Unavailable(f"status {response.status_code}")
        body = _json(response)
        if response.status_code >= 400:
            found = body.get("error")
            details: dict[str, Any] = found if isinstance(found, dict) else {}
            raise Refused(response.status_code, str(details.get("code", "unknown")), details)
        return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise Unavailable("not JSON") from error
    if not isinstance(body, dict):
        raise Unavailable("not a JSON object")
    return body
