"""The analytics page, its CSV and its JSON API on the known dataset (tests/support/analytics_data.py):
for a signed-in staff member only, figures only, in Polish and English."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from channels.backend_client import BackendError
from channels.console import analytics as page
from channels.console.guard import SESSION_COOKIE
from tests.support import analytics_data

STAFF = "staff-token"
KNOWN = {"from": "2026-11-01", "to": "2026-11-07"}
API_HEADERS = {"X-Requested-With": "console"}


class Backend:
    """The backend's answer to the console's "is this token a staff member's?" call."""

    up = True

    async def tickets(self, token: str, status: str) -> list[dict]:
        if not self.up:
            raise BackendError(503, "backend_unavailable")
        if token != STAFF:
            raise BackendError(401, "unauthorized")
        return []


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    channels = create_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    analytics_data.fill(channels, create_engine(tracker_url))
    app = FastAPI()
    app.include_router(page.router)
    app.state.service = SimpleNamespace(store=SimpleNamespace(engine=channels), backend=Backend())
    app.state.settings = SimpleNamespace(rasa_tracker_db_url=tracker_url)
    return TestClient(app, follow_redirects=False)


def signed_in(client: TestClient) -> TestClient:
    client.cookies.set(SESSION_COOKIE, STAFF)
    return client


@pytest.mark.parametrize("path", ["/console/analytics", "/console/analytics.csv"])
@pytest.mark.parametrize("token", [None, "someone-else"])
def test_signed_out_people_are_sent_to_sign_in(client, path, token):
    if token:
        client.cookies.set(SESSION_COOKIE, token)
    response = client.get(path, params=KNOWN)
    assert response.status_code == 303 and response.headers["location"] == "/console"


def test_the_api_wants_the_session_and_the_console_header(client):
    assert client.get("/console/api/analytics", params=KNOWN, headers=API_HEADERS).status_code == 401
    signed_in(client)
    assert client.get("/console/api/analytics", params=KNOWN).status_code == 403


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pl", ["Analityka rozmów", "Rozwiązane bez konsultanta", "50% (2)"]),
        ("en", ["Conversation analytics", "Solved without a person", "50% (2)"]),
    ],
)
def test_the_page_shows_the_period_s_figures(client, language, words):
    response = signed_in(client).get("/console/analytics", params={**KNOWN, "lang": language})
    assert response.status_code == 200
    html = response.text
    assert f'<html lang="{language}">' in html
    for word in words:
        assert word in html
    assert html.count('role="img"') == html.count("<title id=") >= 8  # every chart named and described
    assert html.count("<details>") >= html.count('role="img"')  # and a table for each
    assert "2026-11-01" in html and "3 min 0 s" in html  # median wait of the two handoffs
    for private in ("web-a", "telegram-c", "private words"):
        assert private not in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_an_unusable_period_falls_back_to_30_days_and_says_so(client):
    html = signed_in(client).get("/console/analytics", params={"from": "2026-11-07", "to": "2026-11-01"}).text
    assert 'role="alert"' in html and "Podaj daty od–do" in html


def test_the_csv_holds_the_figures(client):
    response = signed_in(client).get("/console/analytics.csv", params=KNOWN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="analytics-2026-11-01-2026-11-07.csv"' in response.headers["content-disposition"]
    rows = {
        (r["section"], r["key"], r["detail"]): r["value"] for r in csv.DictReader(io.StringIO(response.text))
    }
    assert rows[("summary", "conversations", "")] == "4"
    assert rows[("summary", "solved_without_person", "")] == "2"
    assert rows[("handoffs", "wait_p90_seconds", "")] == "300.0"
    assert rows[("language", "pl", "fallbacks")] == "1"
    assert rows[("faq", "ikp_cost", "")] == "2"
    assert rows[("feedback", "guide:get_pesel", "yes")] == "1"
    assert rows[("funnel", "get_pesel", "step 2 left")] == "1"
    assert "web-a" not in response.text


def test_the_json_api_holds_the_figures(client):
    response = signed_in(client).get("/console/api/analytics", params=KNOWN, headers=API_HEADERS)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = response.json()
    assert (data["first"], data["last"], data["conversations"], data["solved_share"]) == (
        "2026-11-01",
        "2026-11-07",
        4,
        0.5,
    )
    assert data["waits"] == {"handoffs": 2, "answered": 2, "median_seconds": 180.0, "p90_seconds": 300.0}
    assert data["faq"] == [{"key": "ikp_cost", "count": 2}]
    assert data["funnels"][0]["steps"][1] == {"step": 2, "saw": 2, "stuck": 1, "left": 1}


def test_the_usual_periods_end_today(client):
    data = signed_in(client).get("/console/api/analytics", params={"days": 7}, headers=API_HEADERS).json()
    assert data["conversations"] == 0  # the dataset is in 2026-11, long before "today" of the test run?


@pytest.mark.parametrize("path", ["/console/analytics", "/console/analytics.csv"])
def test_a_backend_or_store_that_cannot_answer_is_a_503(client, path, tmp_path):
    signed_in(client)
    client.app.state.service.backend.up = False
    assert client.get(path, params=KNOWN).status_code == 503
    client.app.state.service.backend.up = True
    client.app.state.settings.rasa_tracker_db_url = "postgresql+psycopg://nobody:none@127.0.0.1:9/none"
    response = client.get(path, params=KNOWN)
    assert response.status_code == 503 and response.json()["error"]["code"] == "store_unavailable"
