"""Staff sign-in, audited person lookups, and the audit log (administrators only)."""

import httpx2
import pytest
from fastapi.testclient import TestClient

from api_helpers import NOBODY_PESEL, OLENA, OLENA_ONBOARDING, SERVICE, bearer, person_token, staff_token
from conftest import FakeClock

pytestmark = pytest.mark.usefixtures("demo")


def lookup(client: TestClient, token: str, pesel: str) -> httpx2.Response:
    return client.post("/v1/staff/lookups", json={"pesel": pesel}, headers=bearer(token))


@pytest.mark.parametrize(
    ("username", "password", "role"),
    [("admin", "admin-demo-pass", "admin"), ("agent", "agent-demo-pass", "agent")],
)
def test_sign_in_gives_a_token_with_the_role(
    client: TestClient, username: str, password: str, role: str
) -> None:
    response = client.post("/v1/staff/sessions", json={"username": username, "password": password})
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["role"], body["username"]) == (
        "bearer",
        8 * 3600,
        role,
        username,
    )


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post("/v1/staff/sessions", json={"username": "admin", "password": "guess"})
    unknown = client.post("/v1/staff/sessions", json={"username": "nobody", "password": "guess"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_lookup_returns_the_person_and_their_onboarding(client: TestClient) -> None:
    response = lookup(client, staff_token(client, "agent", "agent-demo-pass"), OLENA["pesel"])
    assert response.status_code == 200
    assert response.json() == {
        "person": {
            "first_name": "Olena",
            "last_name": "Kovalenko",
            "pesel": OLENA["pesel"],
            "email": OLENA["email"],
            "phone": OLENA["phone"],
        },
        "onboarding": OLENA_ONBOARDING,
    }


def test_every_lookup_found_or_not_is_audited_with_a_masked_pesel(client: TestClient) -> None:
    agent = staff_token(client, "agent", "agent-demo-pass")
    assert lookup(client, agent, OLENA["pesel"]).status_code == 200
    missing = lookup(client, agent, NOBODY_PESEL)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "person_not_found"
    audit = client.get("/v1/staff/audit", headers=bearer(staff_token(client)))
    assert audit.status_code == 200
    entries = audit.json()["entries"]
    assert [(e["staff_username"], e["action"], e["result"]) for e in entries] == [
        ("agent", "person_lookup", "not_found"),
        ("agent", "person_lookup", "found"),
    ]
    assert [e["subject"] for e in entries] == ["•••••••7894", "•••••••2345"]
    assert OLENA["pesel"] not in audit.text and NOBODY_PESEL not in audit.text
    assert set(entries[0]) == {"id", "staff_username", "action", "subject", "result", "created_at"}


def test_the_audit_log_is_for_administrators_only(client: TestClient) -> None:
    response = client.get("/v1/staff/audit", headers=bearer(staff_token(client, "agent", "agent-demo-pass")))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("headers", [{}, SERVICE, bearer("not-a-token")])
def test_staff_endpoints_refuse_without_sign_in(client: TestClient, headers: dict) -> None:
    looked_up = client.post("/v1/staff/lookups", json={"pesel": OLENA["pesel"]}, headers=headers)
    audit = client.get("/v1/staff/audit", headers=headers)
    for response in (looked_up, audit):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert OLENA["email"] not in looked_up.text


def test_a_staff_token_expires_after_eight_hours(client: TestClient, clock: FakeClock) -> None:
    token = staff_token(client)
    clock.advance(hours=7, minutes=59)
    assert client.get("/v1/staff/audit", headers=bearer(token)).status_code == 200
    clock.advance(minutes=1)
    assert client.get("/v1/staff/audit", headers=bearer(token)).status_code == 401


def test_a_person_token_is_not_a_staff_token(client: TestClient) -> None:
    token = person_token(client, OLENA["pesel"], OLENA["email"])
    assert client.get("/v1/staff/audit", headers=bearer(token)).status_code == 401


def test_lookup_with_an_invalid_pesel_is_422(client: TestClient) -> None:
    response = lookup(client, staff_token(client), "85070312346")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_pesel"
