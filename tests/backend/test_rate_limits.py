"""Rate limits: per PESEL, per caller, per client address, per staff username; shared through the database."""

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api_helpers import NOBODY_PESEL, OLENA, SERVICE, make_pesel
from backend.app import create_app
from backend.models import RateLimitEvent
from conftest import FakeClock, make_settings

pytestmark = pytest.mark.usefixtures("demo")


def start(client: TestClient, pesel: str, caller: str) -> httpx2.Response:
    return client.post("/v1/verifications", json={"pesel": pesel, "caller": caller}, headers=SERVICE)


def assert_rate_limited(response: httpx2.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert isinstance(error["retry_after"], int) and error["retry_after"] > 0
    assert response.headers["Retry-After"] == str(error["retry_after"])


def test_more_than_three_starts_per_pesel_in_15_minutes_are_refused(
    client: TestClient, clock: FakeClock
) -> None:
    for caller in ("a", "b", "c"):
        assert start(client, OLENA["pesel"], caller).status_code == 202
        clock.advance(minutes=1)
    refused = start(client, OLENA["pesel"], "d")
    assert_rate_limited(refused)
    assert refused.json()["error"]["retry_after"] == 12 * 60  # the first start leaves the window at +15 min
    assert start(client, "04312609878", "d").status_code == 202  # another PESEL is not affected
    clock.advance(minutes=12)
    assert start(client, OLENA["pesel"], "d").status_code == 202


def test_unknown_pesels_are_limited_exactly_like_known_ones(client: TestClient) -> None:
    answers = [start(client, NOBODY_PESEL, f"caller-{n}").status_code for n in range(4)]
    assert answers == [202, 202, 202, 429]


def test_more_than_ten_starts_per_caller_are_refused(client: TestClient) -> None:
    pesels = [make_pesel("700101", serial) for serial in range(11)]
    answers = [start(client, pesel, "one-conversation").status_code for pesel in pesels]
    assert answers == [202] * 10 + [429]
    assert start(client, pesels[-1], "another-conversation").status_code == 202


def test_the_per_address_limit_counts_every_caller(database_url: str, clock: FakeClock) -> None:
    with TestClient(create_app(make_settings(database_url, rate_limit_per_ip=4), clock)) as client:
        answers = [start(client, make_pesel("700101", n), f"caller-{n}").status_code for n in range(5)]
        reminder = client.post(
            "/v1/username-reminders", json={"email": "a@example.org", "caller": "x"}, headers=SERVICE
        )
    assert answers == [202] * 4 + [429]
    assert_rate_limited(reminder)


def test_username_reminders_are_limited_per_address_and_per_caller(client: TestClient) -> None:
    def remind(email: str, caller: str) -> int:
        body = {"email": email, "caller": caller}
        return client.post("/v1/username-reminders", json=body, headers=SERVICE).status_code

    assert [remind(OLENA["email"], f"c{n}") for n in range(4)] == [202, 202, 202, 429]
    assert [remind(f"x{n}@example.org", "same-caller") for n in range(11)] == [202] * 10 + [429]


def test_password_resets_are_limited_per_pesel(client: TestClient) -> None:
    def reset(caller: str) -> int:
        body = {"username": "olena_k85", "pesel": OLENA["pesel"], "caller": caller}
        return client.post("/v1/password-resets", json=body, headers=SERVICE).status_code

    assert [reset(f"c{n}") for n in range(4)] == [202, 202, 202, 429]


def test_staff_sign_in_is_refused_after_five_failures_even_with_the_right_password(
    client: TestClient, clock: FakeClock
) -> None:
    def sign_in(password: str) -> httpx2.Response:
        return client.post("/v1/staff/sessions", json={"username": "agent", "password": password})

    assert [sign_in("wrong").status_code for _ in range(5)] == [401] * 5
    assert_rate_limited(sign_in("agent-demo-pass"))
    assert (
        client.post(
            "/v1/staff/sessions", json={"username": "admin", "password": "admin-demo-pass"}
        ).status_code
        == 200
    )
    clock.advance(minutes=15)
    assert sign_in("agent-demo-pass").status_code == 200


def test_rate_limit_keys_hold_no_personal_data(client: TestClient, db: Session) -> None:
    start(client, OLENA["pesel"], "conversation-7")
    client.post("/v1/username-reminders", json={"email": OLENA["email"], "caller": "c"}, headers=SERVICE)
    keys = db.scalars(select(RateLimitEvent.key)).all()
    assert len(keys) == 6
    assert not [key for key in keys if OLENA["pesel"] in key or "kovalenko" in key or "conversation-7" in key]
