"""Small helpers shared by the backend tests (plain functions; fixtures live in conftest.py)."""

import re

import httpx2
from fastapi.testclient import TestClient
from stdnum.pl import pesel as stdnum_pesel

SERVICE_TOKEN = "test-service-token"
SECRET_KEY = "test-secret-key-with-enough-bytes-for-hs256"
SERVICE = {"X-Service-Token": SERVICE_TOKEN}
OLENA = {"pesel": "85070312345", "email": "olena.kovalenko@example.org", "phone": "+48600100001"}
# What GET /v1/me/onboarding answers for Olena (the contract's demo table).
OLENA_ONBOARDING = {
    "first_name": "Olena",
    "pesel_assigned_on": "2022-03-20",
    "ukr_status": "active",
    "trusted_profile": {"state": "active", "expires_on": "2027-01-10"},
    "ikp_contact_details_set": False,
}
NOBODY_PESEL = "65063007894"
NOBODY_PESEL_2 = "99123102463"


def make_pesel(yymmdd: str, serial: int) -> str:
    """A valid PESEL for a birth date (month already century-coded) and a 4-digit serial."""
    body = f"{yymmdd}{serial:04d}"
    return body + stdnum_pesel.calc_check_digit(body)


def bearer(token: str, service: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    return headers | SERVICE if service else headers


def start_verification(client: TestClient, pesel: str, caller: str = "conversation-1") -> dict:
    response = client.post("/v1/verifications", json={"pesel": pesel, "caller": caller}, headers=SERVICE)
    assert response.status_code == 202, response.text
    return response.json()


def mailbox(client: TestClient, to: str) -> list[dict]:
    response = client.get("/v1/dev/mailbox", params={"to": to}, headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def code_in(text: str) -> str:
    match = re.search(r"\b\d{6}\b", text)
    assert match, "no code in the message"
    return match.group()


def latest_code(client: TestClient, to: str) -> str:
    return code_in(mailbox(client, to)[0]["body"])


def confirm(client: TestClient, verification_id: str, code: str) -> httpx2.Response:
    return client.post(f"/v1/verifications/{verification_id}/confirm", json={"code": code}, headers=SERVICE)


def person_token(client: TestClient, pesel: str, to: str) -> str:
    started = start_verification(client, pesel)
    response = confirm(client, started["verification_id"], latest_code(client, to))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def staff_token(client: TestClient, username: str = "admin", password: str = "admin-demo-pass") -> str:
    response = client.post("/v1/staff/sessions", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
