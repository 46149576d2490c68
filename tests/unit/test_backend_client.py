"""The shared backend client (common/backend_client.py): one error type for every failure, typed
answers, the right token on each call; against httpx.MockTransport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from common.api_models import OnboardingStatus
from common.backend_client import ApiError, BackendClient, BackendUnavailable

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> BackendClient:
    return BackendClient("http://backend.test/", "service-token", transport=httpx.MockTransport(handler))


def test_a_refusal_is_an_api_error_with_status_code_message_and_details() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "invalid_code", "message": "Wrong code.", "attempts_left": 2}}
        return httpx.Response(400, json=body)

    with pytest.raises(ApiError) as raised:
        asyncio.run(client(handler).confirm_verification("v-1", "123456"))
    error = raised.value
    assert (error.status, error.code, error.message, error.details) == (
        400,
        "invalid_code",
        "Wrong code.",
        {"attempts_left": 2},
    )
    assert not isinstance(error, BackendUnavailable)


@pytest.mark.parametrize(
    "handler",
    [
        lambda request: httpx.Response(502, text="Bad gateway"),
        lambda request: httpx.Response(200, text="<html>not JSON</html>"),
        lambda request: httpx.Response(200, json=["not", "an", "object"]),
    ],
    ids=["server error", "not JSON", "not an object"],
)
def test_no_usable_answer_is_backend_unavailable_503(handler: Handler) -> None:
    with pytest.raises(BackendUnavailable) as raised:
        asyncio.run(client(handler).open_ticket("web-x", "web", "uk", "asked"))
    assert (raised.value.status, raised.value.code) == (503, "backend_unavailable")


def test_a_connection_that_fails_is_backend_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiError) as raised:
        asyncio.run(client(handler).add_user_message(7, "hello"))
    assert isinstance(raised.value, BackendUnavailable)


def test_answers_are_typed_and_calls_carry_the_right_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/me/onboarding":
            record = {
                "first_name": "Olena",
                "pesel_assigned_on": "2022-03-14",
                "ukr_status": "active",
                "trusted_profile": {"state": "active", "expires_on": None},
                "ikp_contact_details_set": True,
            }
            return httpx.Response(200, json=record)
        return httpx.Response(200, json={"id": 3, "status": "closed"})

    async def calls() -> OnboardingStatus:
        async with client(handler) as backend:
            await backend.close_ticket(3, "staff-token")
            return await backend.onboarding("person-token")

    record = asyncio.run(calls())
    assert record.trusted_profile.state == "active" and record.pesel_assigned_on is not None
    staff, person = seen
    assert staff.headers["Authorization"] == "Bearer staff-token" and "X-Service-Token" not in staff.headers
    assert person.headers["Authorization"] == "Bearer person-token"
    assert person.headers["X-Service-Token"] == "service-token"
