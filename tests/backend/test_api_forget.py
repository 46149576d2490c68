"""Deleting tickets: one conversation's on request (audited for staff), and closed ones past the
retention period (the service only)."""

import pytest
from fastapi.testclient import TestClient

from api_helpers import SERVICE, bearer, staff_token

pytestmark = pytest.mark.usefixtures("demo")


def ticket_with_message(client: TestClient, conversation_id: str, text: str) -> int:
    body = {"conversation_id": conversation_id, "channel": "web", "language": "uk", "reason": "requested"}
    ticket_id = client.post("/v1/tickets", json=body, headers=SERVICE).json()["id"]
    client.post(f"/v1/tickets/{ticket_id}/messages", json={"text": text}, headers=SERVICE)
    return ticket_id


def test_forgetting_a_conversation_deletes_its_tickets_only_and_audits_staff(client: TestClient) -> None:
    first = ticket_with_message(client, "web-forget-me", "my PESEL 85070312345")
    client.post(f"/v1/tickets/{first}/close", headers=SERVICE)
    second = ticket_with_message(client, "web-forget-me", "again")
    kept = ticket_with_message(client, "web-keep-me", "hello")
    agent = staff_token(client, "agent", "agent-demo-pass")

    response = client.delete("/v1/conversations/web-forget-me/tickets", headers=bearer(agent))

    assert response.status_code == 200 and response.json() == {"deleted": 2}
    for gone in (first, second):
        assert client.get(f"/v1/tickets/{gone}", headers=SERVICE).status_code == 404
    assert client.get(f"/v1/tickets/{kept}", headers=SERVICE).json()["messages"][0]["text"] == "hello"
    entries = client.get("/v1/staff/audit", headers=bearer(staff_token(client))).json()["entries"]
    assert [(e["staff_username"], e["action"], e["subject"], e["result"]) for e in entries[:1]] == [
        ("agent", "forget_conversation", "web-forget-me", "2 tickets")
    ]


def test_forgetting_needs_the_service_or_staff(client: TestClient) -> None:
    assert client.delete("/v1/conversations/web-x/tickets").status_code == 401
    assert client.delete("/v1/conversations/web-x/tickets", headers=SERVICE).json() == {"deleted": 0}


def test_purging_deletes_closed_tickets_closed_before_the_cutoff(client: TestClient) -> None:
    closed = ticket_with_message(client, "web-old", "old")
    client.post(f"/v1/tickets/{closed}/close", headers=SERVICE)
    still_open = ticket_with_message(client, "web-open", "waiting")
    params = {"closed_before": "2999-01-01T00:00:00"}  # after everything: only the open one stays

    assert client.delete("/v1/tickets", params=params, headers=bearer(staff_token(client))).status_code == 401
    assert client.delete(
        "/v1/tickets", params={"closed_before": "2000-01-01T00:00:00Z"}, headers=SERVICE
    ).json() == {"deleted": 0}
    assert client.delete("/v1/tickets", params=params, headers=SERVICE).json() == {"deleted": 1}
    assert client.get(f"/v1/tickets/{closed}", headers=SERVICE).status_code == 404
    assert client.get(f"/v1/tickets/{still_open}", headers=SERVICE).status_code == 200


def test_a_cutoff_outside_the_representable_utc_range_is_a_clear_error(client: TestClient) -> None:
    # The schema fuzz run found this one: the offset moves it before year 1 in UTC.
    response = client.delete(
        "/v1/tickets", params={"closed_before": "0001-01-01T00:00:00+00:01"}, headers=SERVICE
    )

    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")
