"""POST /v1/verifications, POST /v1/verifications/{id}/confirm, GET /v1/me/onboarding."""

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api_helpers import (
    OLENA,
    OLENA_ONBOARDING,
    SERVICE,
    bearer,
    confirm,
    latest_code,
    mailbox,
    make_pesel,
    person_token,
    staff_token,
    start_verification,
)
from backend.models import Verification
from conftest import FakeClock

pytestmark = pytest.mark.usefixtures("demo")


def test_start_answers_202_and_sends_the_same_code_by_email_and_sms(client: TestClient) -> None:
    started = start_verification(client, OLENA["pesel"])
    assert started["expires_in"] == 600
    assert started["code_length"] == 6
    assert set(started) == {"verification_id", "expires_in", "code_length"}
    email, sms = mailbox(client, OLENA["email"]), mailbox(client, OLENA["phone"])
    assert [m["channel"] for m in email] == ["email"]
    assert [m["channel"] for m in sms] == ["sms"]
    assert latest_code(client, OLENA["email"]) == latest_code(client, OLENA["phone"])


def test_the_code_is_stored_only_as_an_hmac(client: TestClient, db: Session) -> None:
    started = start_verification(client, OLENA["pesel"])
    code = latest_code(client, OLENA["email"])
    row = db.get_one(Verification, started["verification_id"])
    assert code not in row.code_hmac
    assert len(row.code_hmac) == 64


def test_the_right_code_gives_a_person_token_for_the_onboarding_status(client: TestClient) -> None:
    started = start_verification(client, OLENA["pesel"])
    response = confirm(client, started["verification_id"], latest_code(client, OLENA["email"]))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    status = client.get("/v1/me/onboarding", headers=bearer(body["access_token"], service=True))
    assert status.status_code == 200
    assert status.json() == OLENA_ONBOARDING


def test_onboarding_of_a_person_in_another_state(client: TestClient) -> None:
    token = person_token(client, "44051401458", "mykola.hnatiuk@example.org")
    status = client.get("/v1/me/onboarding", headers=bearer(token, service=True)).json()
    assert status["ukr_status"] == "lost"
    assert status["trusted_profile"] == {"state": "expired", "expires_on": "2025-03-28"}


def test_an_active_trusted_profile_past_its_expiry_date_shows_as_expired(
    client: TestClient, clock: FakeClock
) -> None:
    def trusted_profile() -> dict:
        token = person_token(client, OLENA["pesel"], OLENA["email"])
        return client.get("/v1/me/onboarding", headers=bearer(token, service=True)).json()["trusted_profile"]

    clock.now = clock.now.replace(year=2027, month=1, day=10, hour=12)
    assert trusted_profile() == {"state": "active", "expires_on": "2027-01-10"}
    clock.advance(days=1)
    assert trusted_profile() == {"state": "expired", "expires_on": "2027-01-10"}


def test_wrong_codes_count_down_then_lock_even_the_right_code(client: TestClient) -> None:
    started = start_verification(client, OLENA["pesel"])
    right = latest_code(client, OLENA["email"])
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for attempts_left in (2, 1, 0):
        response = confirm(client, started["verification_id"], wrong)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_code"
        assert response.json()["error"]["attempts_left"] == attempts_left
    locked = confirm(client, started["verification_id"], right)
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "verification_locked"


def test_a_code_expires_after_ten_minutes(client: TestClient, clock: FakeClock) -> None:
    first = start_verification(client, OLENA["pesel"])
    first_code = latest_code(client, OLENA["email"])
    second = start_verification(client, OLENA["pesel"])
    second_code = latest_code(client, OLENA["email"])
    clock.advance(minutes=9, seconds=59)
    assert confirm(client, second["verification_id"], second_code).status_code == 200
    clock.advance(seconds=1)
    expired = confirm(client, first["verification_id"], first_code)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "verification_expired"


def test_a_confirmed_verification_cannot_be_used_again(client: TestClient) -> None:
    started = start_verification(client, OLENA["pesel"])
    code = latest_code(client, OLENA["email"])
    assert confirm(client, started["verification_id"], code).status_code == 200
    again = confirm(client, started["verification_id"], code)
    assert again.status_code == 410


@pytest.mark.parametrize("verification_id", ["never-issued", "x" * 300, "a%00b"])
def test_an_id_never_issued_is_not_found(client: TestClient, verification_id: str) -> None:
    response = confirm(client, verification_id, "123456")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "verification_not_found"


@pytest.mark.parametrize(
    "pesel",
    [
        "85070312346",  # wrong check digit
        make_pesel("851303", 1234),  # month 13: a right check digit on a date that does not exist
        make_pesel("850230", 1234),  # 30 February
        "8507031234",  # too short
        "85O70312345",  # a letter O
        " 85070312345",
    ],
)
def test_an_invalid_pesel_is_422_invalid_pesel_without_echoing_it(client: TestClient, pesel: str) -> None:
    response = client.post("/v1/verifications", json={"pesel": pesel, "caller": "c"}, headers=SERVICE)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_pesel"
    assert pesel.strip() not in response.text
    assert "input" not in response.json()["error"]["details"][0]


@pytest.mark.parametrize("headers", [{}, {"X-Service-Token": "wrong"}])
def test_verification_endpoints_need_the_service_token(client: TestClient, headers: dict) -> None:
    started = client.post("/v1/verifications", json={"pesel": OLENA["pesel"], "caller": "c"}, headers=headers)
    confirmed = client.post("/v1/verifications/x/confirm", json={"code": "123456"}, headers=headers)
    for response in (started, confirmed):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert mailbox(client, OLENA["email"]) == []


def test_onboarding_needs_a_valid_person_token(client: TestClient, clock: FakeClock, db: Session) -> None:
    token = person_token(client, OLENA["pesel"], OLENA["email"])
    assert client.get("/v1/me/onboarding", headers=bearer(token)).json()["error"]["code"] == "unauthorized"
    for headers in (SERVICE, bearer("not-a-jwt", service=True), bearer(staff_token(client), service=True)):
        response = client.get("/v1/me/onboarding", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"
    clock.advance(minutes=15)
    expired = client.get("/v1/me/onboarding", headers=bearer(token, service=True))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "invalid_token"


def test_a_token_signed_with_another_key_is_refused(client: TestClient) -> None:
    claims = {"sub": "1", "typ": "person", "exp": 4102444800}
    forged = jwt.encode(claims, "another-key-another-key-another-key!")
    response = client.get("/v1/me/onboarding", headers=bearer(forged, service=True))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
