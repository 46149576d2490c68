"""Handoff tickets: open (idempotent), list, read, reply, close; for the service and for staff."""

import re

import pytest
from fastapi.testclient import TestClient

from api_helpers import SERVICE, bearer, staff_token

pytestmark = pytest.mark.usefixtures("demo")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
NEW_TICKET = {
    "conversation_id": "conv-1",
    "channel": "telegram",
    "language": "uk",
    "reason": "asked for a human",
}


def open_ticket(client: TestClient, **changes: str) -> dict:
    response = client.post("/v1/tickets", json=NEW_TICKET | changes, headers=SERVICE)
    assert response.status_code == 201, response.text
    return response.json()


def test_open_ticket_returns_the_ticket(client: TestClient) -> None:
    ticket = open_ticket(client)
    assert set(ticket) == {
        "id", "conversation_id", "channel", "language", "reason", "status", "created_at", "closed_at",
        "assigned_to", "messages",
    }  # fmt: skip
    assert ticket["status"] == "open"
    assert ticket["messages"] == []
    assert ticket["closed_at"] is None and ticket["assigned_to"] is None
    assert ISO_UTC.fullmatch(ticket["created_at"])


def test_opening_again_for_the_same_conversation_returns_the_open_ticket(client: TestClient) -> None:
    first = open_ticket(client)
    again = client.post("/v1/tickets", json=NEW_TICKET, headers=SERVICE)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    client.post(f"/v1/tickets/{first['id']}/close", headers=SERVICE)
    assert open_ticket(client)["id"] != first["id"]


def test_list_filters_by_status_and_leaves_out_messages(client: TestClient) -> None:
    first = open_ticket(client)
    second = open_ticket(client, conversation_id="conv-2")
    client.post(f"/v1/tickets/{first['id']}/close", headers=SERVICE)
    everything = client.get("/v1/tickets", headers=SERVICE).json()["tickets"]
    assert [t["id"] for t in everything] == [first["id"], second["id"]]
    assert all("messages" not in t for t in everything)
    for status, expected in (("open", [second["id"]]), ("closed", [first["id"]]), ("assigned", [])):
        listed = client.get("/v1/tickets", params={"status": status}, headers=SERVICE).json()["tickets"]
        assert [t["id"] for t in listed] == expected
    assert client.get("/v1/tickets", params={"status": "lost"}, headers=SERVICE).status_code == 422


def test_service_messages_are_from_user_or_bot(client: TestClient) -> None:
    ticket = open_ticket(client)
    url = f"/v1/tickets/{ticket['id']}/messages"
    user = client.post(url, json={"text": "Hello?"}, headers=SERVICE)
    bot = client.post(url, json={"text": "A person will answer soon.", "author": "bot"}, headers=SERVICE)
    assert user.status_code == bot.status_code == 201
    assert (user.json()["author"], bot.json()["author"]) == ("user", "bot")
    assert user.json()["staff_username"] is None
    as_staff = client.post(url, json={"text": "I am staff", "author": "staff"}, headers=SERVICE)
    assert as_staff.status_code == 422
    messages = client.get(f"/v1/tickets/{ticket['id']}", headers=SERVICE).json()["messages"]
    assert [m["text"] for m in messages] == ["Hello?", "A person will answer soon."]


def test_a_staff_reply_is_authored_by_staff_and_takes_the_ticket(client: TestClient) -> None:
    ticket = open_ticket(client)
    headers = bearer(staff_token(client, "agent", "agent-demo-pass"))
    reply = client.post(
        f"/v1/tickets/{ticket['id']}/messages", json={"text": "Hi!", "author": "bot"}, headers=headers
    )
    assert reply.status_code == 201
    assert (reply.json()["author"], reply.json()["staff_username"]) == ("staff", "agent")
    taken = client.get(f"/v1/tickets/{ticket['id']}", headers=headers).json()
    assert (taken["status"], taken["assigned_to"]) == ("assigned", "agent")
    # Still the conversation's open ticket while assigned.
    assert client.post("/v1/tickets", json=NEW_TICKET, headers=SERVICE).json()["id"] == ticket["id"]


def test_close_and_then_replies_are_refused(client: TestClient) -> None:
    ticket = open_ticket(client)
    closed = client.post(f"/v1/tickets/{ticket['id']}/close", headers=bearer(staff_token(client)))
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert ISO_UTC.fullmatch(closed.json()["closed_at"])
    assert client.post(f"/v1/tickets/{ticket['id']}/close", headers=SERVICE).json() == closed.json()
    refused = client.post(
        f"/v1/tickets/{ticket['id']}/messages", json={"text": "still there?"}, headers=SERVICE
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ticket_closed"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v1/tickets/999"), ("post", "/v1/tickets/999/close"), ("post", "/v1/tickets/999/messages")],
)
def test_an_unknown_ticket_is_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"text": "hi"}, headers=SERVICE)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ticket_not_found"


def test_ticket_ids_out_of_range_are_422_not_500(client: TestClient) -> None:
    for ticket_id in ("0", str(2**63), "abc"):
        assert client.get(f"/v1/tickets/{ticket_id}", headers=SERVICE).status_code == 422


def test_tickets_need_the_service_token_or_a_staff_sign_in(client: TestClient) -> None:
    ticket = open_ticket(client)
    for headers in ({}, {"X-Service-Token": "wrong"}, bearer("not-a-token")):
        for method, path in (
            ("post", "/v1/tickets"),
            ("get", "/v1/tickets"),
            ("get", f"/v1/tickets/{ticket['id']}"),
            ("post", f"/v1/tickets/{ticket['id']}/messages"),
            ("post", f"/v1/tickets/{ticket['id']}/close"),
        ):
            response = client.request(method, path, json=NEW_TICKET | {"text": "x"}, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json()["error"]["code"] == "unauthorized"


def test_invalid_ticket_bodies_are_422(client: TestClient) -> None:
    for changes in (
        {"language": "de"},
        {"conversation_id": ""},
        {"reason": "x" * 501},
        {"channel": "a\x00b"},
    ):
        response = client.post("/v1/tickets", json=NEW_TICKET | changes, headers=SERVICE)
        assert response.status_code == 422, changes
        assert response.json()["error"]["code"] == "validation_error"
