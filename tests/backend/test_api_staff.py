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


def test_a_label_of_a_failed_message_is_audited_by_its_fingerprint_never_its_text(
    client: TestClient,
) -> None:
    agent = staff_token(client, "agent", "agent-demo-pass")
    digest = "ab" * 32
    body = {"label": "faq/what_is_pesel", "language": "pl", "digest": digest}
    labelled = client.post("/v1/staff/failure-labels", json=body, headers=bearer(agent))
    assert labelled.status_code == 201
    row = labelled.json()
    assert (row["staff_username"], row["action"], row["subject"], row["result"]) == (
        "agent",
        "label_failure",
        "faq/what_is_pesel",
        "pl:abababababab",
    )
    unknown_language = {"label": "new_topic", "language": None, "digest": digest}
    assert client.post("/v1/staff/failure-labels", json=unknown_language, headers=bearer(agent)).json()[
        "result"
    ] == ("--:abababababab")
    entries = client.get("/v1/staff/audit", headers=bearer(staff_token(client))).json()["entries"]
    assert [(e["action"], e["subject"]) for e in entries[:2]] == [
        ("label_failure", "new_topic"),
        ("label_failure", "faq/what_is_pesel"),
    ]
    assert entries[1]["created_at"] == row["created_at"]


@pytest.mark.parametrize(
    "body",
    [
        {"label": "Get PESEL!", "language": "pl", "digest": "ab" * 32},
        {"label": "x" * 33, "language": "pl", "digest": "ab" * 32},
        {"label": "get_pesel", "language": "de", "digest": "ab" * 32},
        {"label": "get_pesel", "language": "pl", "digest": "my pesel is 85070312345"},
    ],
)
def test_a_label_needs_a_label_name_a_language_and_a_fingerprint(client: TestClient, body: dict) -> None:
    agent = staff_token(client, "agent", "agent-demo-pass")
    response = client.post("/v1/staff/failure-labels", json=body, headers=bearer(agent))
    assert response.status_code == 422
    assert "85070312345" not in response.text


def test_labels_are_for_signed_in_staff_only(client: TestClient) -> None:
    body = {"label": "get_pesel", "language": "pl", "digest": "ab" * 32}
    assert client.post("/v1/staff/failure-labels", json=body).status_code == 401
    assert client.post("/v1/staff/failure-labels", json=body, headers=SERVICE).status_code == 401
