"""GET /v1/dev/mailbox: what the outbox holds, only while SMTP is not configured."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api_helpers import OLENA, SERVICE, bearer, staff_token, start_verification
from backend.app import create_app
from conftest import FakeClock, make_settings

pytestmark = pytest.mark.usefixtures("demo")


def test_messages_for_one_recipient_newest_first(client: TestClient) -> None:
    start_verification(client, OLENA["pesel"])
    start_verification(client, "04312609878")
    start_verification(client, OLENA["pesel"])
    response = client.get("/v1/dev/mailbox", params={"to": OLENA["email"].upper()}, headers=SERVICE)
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert len(messages) == 2
    assert messages[0]["id"] > messages[1]["id"]
    assert set(messages[0]) == {"id", "channel", "to", "subject", "body", "created_at", "status"}
    assert {m["to"] for m in messages} == {OLENA["email"]}
    assert messages[0]["status"] == "pending"  # the worker has not run in this test


def test_without_to_every_message_is_listed(client: TestClient) -> None:
    start_verification(client, OLENA["pesel"])
    messages = client.get("/v1/dev/mailbox", headers=bearer(staff_token(client))).json()["messages"]
    assert sorted(m["channel"] for m in messages) == ["email", "sms"]


def test_the_mailbox_needs_the_service_token_or_staff(client: TestClient) -> None:
    response = client.get("/v1/dev/mailbox", params={"to": OLENA["email"]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_mailbox_is_gone_when_smtp_is_configured(database_url: str, clock: FakeClock) -> None:
    app: FastAPI = create_app(make_settings(database_url, smtp_host="127.0.0.1"), clock)
    with TestClient(app) as client:
        response = client.get("/v1/dev/mailbox", params={"to": OLENA["email"]}, headers=SERVICE)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_nul_in_to_is_422(client: TestClient) -> None:
    assert client.get("/v1/dev/mailbox", params={"to": "a\x00b"}, headers=SERVICE).status_code == 422
