"""An outsider cannot tell whether a person or account exists: same status, same body, similar timing."""

import re
import statistics
import time
from collections.abc import Callable

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api_helpers import NOBODY_PESEL, OLENA, SERVICE, confirm, make_pesel
from backend import security
from backend.models import Account, Notification, Onboarding, Person, Verification

pytestmark = pytest.mark.usefixtures("demo")
# Loose on purpose (a busy machine is noisy), yet far below what skipping the database work would show.
MAX_MEDIAN_RATIO = 2.0
ROUNDS = 15


def shape(body: object) -> object:
    """The body with every string replaced by its length and alphabet: equal shapes leak nothing."""
    if isinstance(body, dict):
        return {key: shape(value) for key, value in body.items()}
    if isinstance(body, str):
        return (len(body), bool(re.fullmatch(r"[A-Za-z0-9_-]*", body)))
    return body


Request = Callable[[], httpx2.Response]


def elapsed(request: Request) -> float:
    started = time.perf_counter()
    request()
    return time.perf_counter() - started


def assert_similar_timing(known: list[Request], unknown: list[Request]) -> None:
    # Interleaved, so that a slow moment of the machine hits both sides alike.
    pairs = [(elapsed(k), elapsed(u)) for k, u in zip(known, unknown, strict=True)]
    known_median = statistics.median(k for k, _ in pairs)
    unknown_median = statistics.median(u for _, u in pairs)
    ratio = max(known_median, unknown_median) / min(known_median, unknown_median)
    assert ratio < MAX_MEDIAN_RATIO, (
        f"known {known_median * 1e3:.1f} ms, unknown {unknown_median * 1e3:.1f} ms"
    )


def add_people(db: Session, count: int) -> list[str]:
    """People with contacts and accounts user0, user1, ...; each has its own PESEL (limits are per PESEL)."""
    pesels = [make_pesel("920101", serial) for serial in range(1000, 1000 + count)]
    for number, pesel in enumerate(pesels):
        email = f"p{number}@example.org"
        person = Person(pesel=pesel, first_name="Test", last_name="Person", email=email)
        person.onboarding = Onboarding(ukr_status="active", trusted_profile_state="none")
        db.add_all([person, Account(username=f"user{number}", person=person, email=email)])
    db.commit()
    return pesels


def start(client: TestClient, pesel: str, caller: str) -> httpx2.Response:
    return client.post("/v1/verifications", json={"pesel": pesel, "caller": caller}, headers=SERVICE)


def test_verification_start_answers_alike_for_a_person_nobody_and_a_person_without_contact(
    client: TestClient, db: Session
) -> None:
    no_contact = make_pesel("880808", 4321)
    db.add(Person(pesel=no_contact, first_name="No", last_name="Contact"))
    db.commit()
    answers = [start(client, pesel, "c") for pesel in (OLENA["pesel"], NOBODY_PESEL, no_contact)]
    assert {response.status_code for response in answers} == {202}
    assert len({repr(shape(response.json())) for response in answers}) == 1
    assert len({frozenset(response.headers) for response in answers}) == 1
    # Only the person with a contact was sent anything; all three got a verification row.
    assert db.scalar(select(func.count()).select_from(Notification)) == 2
    assert db.scalar(select(func.count()).select_from(Verification)) == 3


@pytest.mark.timing
def test_verification_start_takes_similar_time_for_known_and_unknown_pesels(
    client: TestClient, db: Session
) -> None:
    known = add_people(db, ROUNDS)
    unknown = [make_pesel("930202", serial) for serial in range(2000, 2000 + ROUNDS)]
    assert_similar_timing(
        [lambda p=p, i=i: start(client, p, f"known-{i}") for i, p in enumerate(known)],
        [lambda p=p, i=i: start(client, p, f"unknown-{i}") for i, p in enumerate(unknown)],
    )


def test_a_decoy_can_never_be_confirmed_and_locks_like_a_real_one(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "new_code", lambda: "123456")
    real = start(client, OLENA["pesel"], "c").json()["verification_id"]
    decoy = start(client, NOBODY_PESEL, "c").json()["verification_id"]
    for attempts_left in (2, 1):
        answers = [confirm(client, vid, "000000") for vid in (real, decoy)]
        assert [a.status_code for a in answers] == [400, 400]
        assert answers[0].json() == answers[1].json()
        assert answers[0].json()["error"]["attempts_left"] == attempts_left
    # The decoy's code is refused even when it is "right"; that last wrong try locks it.
    right = confirm(client, decoy, "123456")
    assert (right.status_code, right.json()["error"]["attempts_left"]) == (400, 0)
    assert confirm(client, decoy, "123456").status_code == 423
    assert confirm(client, real, "123456").status_code == 200


def remind(client: TestClient, email: str, caller: str) -> httpx2.Response:
    return client.post("/v1/username-reminders", json={"email": email, "caller": caller}, headers=SERVICE)


def reset(client: TestClient, username: str, pesel: str, caller: str) -> httpx2.Response:
    body = {"username": username, "pesel": pesel, "caller": caller}
    return client.post("/v1/password-resets", json=body, headers=SERVICE)


def test_username_reminders_answer_alike(client: TestClient) -> None:
    known, unknown = remind(client, OLENA["email"], "a"), remind(client, "nobody@example.org", "b")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json() == {"status": "accepted"}


@pytest.mark.timing
def test_username_reminders_take_similar_time(client: TestClient) -> None:
    assert_similar_timing(
        # Distinct addresses and callers: the per-address limit is 3 requests per 15 minutes.
        [lambda i=i: remind(client, f"olena.kovalenko+{i}@example.org", f"k{i}") for i in range(ROUNDS)],
        [lambda i=i: remind(client, f"nobody{i}@example.org", f"u{i}") for i in range(ROUNDS)],
    )


def test_password_resets_answer_alike(client: TestClient) -> None:
    matching = reset(client, "olena_k85", OLENA["pesel"], "a")
    wrong_pesel = reset(client, "olena_k85", NOBODY_PESEL, "b")
    unknown_user = reset(client, "x_y", NOBODY_PESEL, "c")
    assert {a.status_code for a in (matching, wrong_pesel, unknown_user)} == {202}
    assert matching.text == wrong_pesel.text == unknown_user.text


@pytest.mark.timing
def test_password_resets_take_similar_time(client: TestClient, db: Session) -> None:
    known = add_people(db, ROUNDS)
    unknown = [make_pesel("940303", serial) for serial in range(3000, 3000 + ROUNDS)]
    assert_similar_timing(
        [lambda i=i, p=p: reset(client, f"user{i}", p, f"k{i}") for i, p in enumerate(known)],
        [lambda i=i, p=p: reset(client, f"user{i}", p, f"u{i}") for i, p in enumerate(unknown)],
    )


@pytest.mark.timing
def test_staff_sign_in_takes_similar_time_for_unknown_users_and_wrong_passwords(client: TestClient) -> None:
    def sign_in(username: str) -> httpx2.Response:
        return client.post("/v1/staff/sessions", json={"username": username, "password": "wrong"})

    # Under the 5-failures-per-username limit: a few rounds, each with its own unknown name.
    assert_similar_timing(
        [lambda: sign_in("admin") for _ in range(4)],
        [lambda i=i: sign_in(f"ghost{i}") for i in range(4)],
    )
