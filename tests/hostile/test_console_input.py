"""Bad input in the helpdesk console's forms (reply box, PESEL lookup, sign-in), through its API
with a signed-in session: a clear error with a stable code, or the text delivered verbatim."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.waiting import wait_for
from tests.support.widget import WidgetClient

CONSOLE = {"X-Requested-With": "console"}
HOSTILE = [
    '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>',
    "{{7*7}} ${7*7} {%",
    "'; DROP TABLE conversations;--",
    "😀🇺🇦",
]


@pytest.fixture(scope="module")
def console(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE, timeout=30) as client:
        signed_in = client.post(
            "/console/api/session", json={"username": "agent", "password": "agent-demo-pass"}
        )
        assert signed_in.status_code == 200, signed_in.text
        yield client


@pytest.fixture(scope="module")
def handed_off(stack, console) -> Iterator[tuple[WidgetClient, int]]:
    person = WidgetClient(stack.ports.channels_url, "uk")
    person.say("хочу поговорити з людиною")
    ticket_id = wait_for(lambda: _ticket_of(console, person.conversation_id), 30, "the ticket")
    yield person, ticket_id
    person.close()


def _ticket_of(console: httpx.Client, conversation_id: str) -> int | None:
    tickets = console.get("/console/api/queue").json()["tickets"]
    return next((t["id"] for t in tickets if t["conversation_id"] == conversation_id), None)


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "empty_reply"),
        ({"text": " \n\t "}, 422, "empty_reply"),
        ({"text": "x" * 100_000}, 422, "reply_too_long"),
        ({"text": 42}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
)
def test_replies_the_console_refuses_say_why(console, handed_off, body, status, code):
    _, ticket_id = handed_off
    response = console.post(f"/console/api/tickets/{ticket_id}/replies", json=body)
    assert (response.status_code, error_code(response)) == (status, code)
    if code == "reply_too_long":
        assert "2000" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b'{"text": "\xff\xfe"}', 400), (b"\x00\x01\x02", 422), (b'{"text": "unfinished', 422)],
)
def test_a_body_that_is_no_json_or_no_utf8_is_refused(console, handed_off, raw, status):
    _, ticket_id = handed_off
    response = console.post(
        f"/console/api/tickets/{ticket_id}/replies",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, error_code(response)) == (status, "invalid_request")


def test_hostile_replies_reach_the_person_verbatim(console, handed_off):
    person, ticket_id = handed_off
    for text in HOSTILE:
        response = console.post(f"/console/api/tickets/{ticket_id}/replies", json={"text": text})
        assert response.status_code == 201, response.text
        [delivered] = person.answer()
        assert (delivered["author"], delivered["text"]) == ("staff", text)
    transcript = console.get(f"/console/api/tickets/{ticket_id}").json()["messages"]
    assert [m["text"] for m in transcript if m["author"] == "staff"][-len(HOSTILE) :] == HOSTILE


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/console/api/tickets/{2**70}"),
        ("GET", "/console/api/tickets/1?after=99999999999999999999"),
        ("POST", f"/console/api/tickets/{2**63}/hand-back"),
        ("GET", "/console/api/tickets/-1"),
    ],
)
def test_ids_no_row_can_have_are_refused_before_any_query(console, method, path):
    response = console.request(method, path)
    assert (response.status_code, error_code(response)) == (422, "invalid_request")


@pytest.mark.parametrize("pesel", [*HOSTILE, "", " ", "0" * 100_000, "44051401458' OR 1=1"])
def test_lookups_of_hostile_pesels_are_refused_not_failed(console, pesel):
    response = console.post("/console/api/lookups", json={"pesel": pesel})
    assert 400 <= response.status_code < 500, response.text
    assert error_code(response)


@pytest.mark.parametrize("username", ["' OR '1'='1", "agent'--", "{{7*7}}", "<script>", "a" * 10_000])
def test_hostile_sign_ins_are_refused(stack, username):
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE, timeout=30) as client:
        response = client.post("/console/api/session", json={"username": username, "password": "' OR 1=1--"})
        assert response.status_code in (401, 422, 429), response.text
        assert "console_session" not in response.cookies
