"""POST /v1/username-reminders and POST /v1/password-resets."""

import pytest
from fastapi.testclient import TestClient

from api_helpers import NOBODY_PESEL, OLENA, SERVICE, mailbox

pytestmark = pytest.mark.usefixtures("demo")
ACCEPTED = {"status": "accepted"}


def remind(client: TestClient, email: str, caller: str = "conversation-1") -> dict:
    response = client.post("/v1/username-reminders", json={"email": email, "caller": caller}, headers=SERVICE)
    assert response.status_code == 202, response.text
    return response.json()


def reset(client: TestClient, username: str, pesel: str, caller: str = "conversation-1") -> dict:
    body = {"username": username, "pesel": pesel, "caller": caller}
    response = client.post("/v1/password-resets", json=body, headers=SERVICE)
    assert response.status_code == 202, response.text
    return response.json()


def test_a_known_email_gets_its_username(client: TestClient) -> None:
    assert remind(client, "Olena.Kovalenko@example.org") == ACCEPTED
    [message] = mailbox(client, OLENA["email"])
    assert message["channel"] == "email"
    assert "Username: olena_k85" in message["body"]


def test_an_unknown_email_is_accepted_and_nothing_is_sent(client: TestClient) -> None:
    assert remind(client, "nobody@example.org") == ACCEPTED
    assert mailbox(client, "nobody@example.org") == []


def test_username_and_pesel_that_match_queue_a_reset_email(client: TestClient) -> None:
    assert reset(client, "olena_k85", OLENA["pesel"]) == ACCEPTED
    [message] = mailbox(client, OLENA["email"])
    assert "olena_k85" in message["body"]
    assert "password" in message["body"]


@pytest.mark.parametrize(
    ("username", "pesel"),
    [("olena_k85", "04312609878"), ("no_such_user", OLENA["pesel"]), ("no_such_user", NOBODY_PESEL)],
)
def test_a_reset_that_does_not_match_is_accepted_and_nothing_is_sent(
    client: TestClient, username: str, pesel: str
) -> None:
    assert reset(client, username, pesel) == ACCEPTED
    assert mailbox(client, OLENA["email"]) == []
    assert mailbox(client, "andrii.melnyk@example.org") == []


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b", "olena@@example.org", "", "x" * 300 + "@example.org"]
)
def test_an_invalid_email_is_422_invalid_email(client: TestClient, email: str) -> None:
    response = client.post("/v1/username-reminders", json={"email": email, "caller": "c"}, headers=SERVICE)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_email"


def test_a_reset_with_an_invalid_pesel_or_username_is_422(client: TestClient) -> None:
    bad_pesel = {"username": "olena_k85", "pesel": "85070312346", "caller": "c"}
    bad_username = {"username": "olena k85!", "pesel": OLENA["pesel"], "caller": "c"}
    for body, code in ((bad_pesel, "invalid_pesel"), (bad_username, "invalid_username")):
        response = client.post("/v1/password-resets", json=body, headers=SERVICE)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code


def test_recovery_endpoints_need_the_service_token(client: TestClient) -> None:
    reminder = client.post("/v1/username-reminders", json={"email": OLENA["email"], "caller": "c"})
    reset_request = client.post(
        "/v1/password-resets", json={"username": "olena_k85", "pesel": OLENA["pesel"], "caller": "c"}
    )
    for response in (reminder, reset_request):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert mailbox(client, OLENA["email"]) == []
