"""The helpdesk console: its API (session cookie, CSRF, errors) and, in real headless Chromium,
the whole helpdesk flow (the failures report itself: tests/unit/test_insights.py)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.support.widget import WidgetClient

# The console against the whole stack: the backend's staff, tickets and audit, Rasa, the widget.

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts"
CONSOLE_HEADER = {"X-Requested-With": "console"}
SERVICE = {"X-Service-Token": "dev-service-token"}
AGENT = {"username": "agent", "password": "agent-demo-pass"}
ADMIN = {"username": "admin", "password": "admin-demo-pass"}
OLENA_PESEL = "85070312345"


def hand_off(stack) -> WidgetClient:
    """A Ukrainian widget user who asked for a person: the bot opened a ticket and went silent."""
    user = WidgetClient(stack.ports.channels_url, "uk")
    user.say("Привіт")
    user.hand_off("хочу поговорити з людиною")
    return user


def open_ticket_of(stack, conversation_id: str) -> int:
    tickets = httpx.get(f"{stack.ports.backend_url}/v1/tickets", params={"status": "open"}, headers=SERVICE)
    return next(t["id"] for t in tickets.json()["tickets"] if t["conversation_id"] == conversation_id)


@pytest.fixture
def handed_off(stack) -> Iterator[tuple[WidgetClient, int]]:
    """A widget user handed off to the helpdesk, and their ticket; handed back afterwards, so that
    no test leaves entries in the queue."""
    user = hand_off(stack)
    ticket_id = open_ticket_of(stack, user.conversation_id)
    yield user, ticket_id
    with console(stack) as client:
        client.post(f"/console/api/tickets/{ticket_id}/hand-back")  # 404 when the test did it
    user.close()


@contextlib.contextmanager
def console(stack, credentials: dict | None = AGENT) -> Iterator[httpx.Client]:
    """An HTTP client of the console, signed in unless credentials is None."""
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE_HEADER, timeout=30) as client:
        if credentials is not None:
            client.post("/console/api/session", json=credentials).raise_for_status()
        yield client


def audit(stack) -> list[dict]:
    backend = stack.ports.backend_url
    token = httpx.post(f"{backend}/v1/staff/sessions", json=ADMIN).json()["access_token"]
    response = httpx.get(f"{backend}/v1/staff/audit", headers={"Authorization": f"Bearer {token}"})
    return response.json()["entries"]


def test_sign_in_keeps_the_staff_token_in_a_strict_http_only_cookie(stack):
    with console(stack, credentials=None) as client:
        response = client.post("/console/api/session", json=AGENT)

        assert response.status_code == 200
        assert response.json() == {"username": "agent", "role": "agent"}
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith("console_session=")
        for attribute in ("httponly", "samesite=strict", "path=/console", "max-age=28800"):
            assert attribute in cookie
        assert "access_token" not in response.text, "the token stays out of reach of page scripts"

        assert client.get("/console/api/queue").status_code == 200
        signed_out = client.delete("/console/api/session")
        assert signed_out.status_code == 204
        assert 'console_session=""' in signed_out.headers["set-cookie"]
        assert client.get("/console/api/queue").json()["error"]["code"] == "signed_out"


def test_wrong_credentials_are_refused_with_a_stable_code(stack):
    with console(stack, credentials=None) as client:
        response = client.post("/console/api/session", json={"username": "nobody", "password": "guess"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "console_session=" not in response.headers.get("set-cookie", "").replace('console_session=""', "")


def test_failed_sign_ins_are_limited_per_address_of_the_person_not_of_the_channel_service(stack):
    """The backend sees every console sign-in come from the channel service: counted there, one
    person's wrong guesses would lock the whole helpdesk out. (This test client is a trusted
    proxy of the channel service, so it can speak for several addresses.)"""

    def sign_in(credentials: dict, address: str) -> int:
        with console(stack, credentials=None) as client:
            headers = {"X-Forwarded-For": address}
            return client.post("/console/api/session", json=credentials, headers=headers).status_code

    guesser, colleague = "203.0.113.7", "198.51.100.9"
    guesses = [sign_in({"username": f"guess-{n}", "password": "x"}, guesser) for n in range(21)]

    assert guesses[:20] == [401] * 20 and guesses[20] == 429, "the guesser is stopped"
    assert sign_in(AGENT, colleague) == 200, "a colleague at another address is not locked out"


def test_calls_without_the_console_header_are_refused_before_anything_happens(stack, handed_off):
    user, ticket_id = handed_off
    with console(stack) as client:
        forged = client.post(
            f"/console/api/tickets/{ticket_id}/replies",
            json={"text": "forged"},
            headers={"X-Requested-With": ""},
        )
        transcript = client.get(f"/console/api/tickets/{ticket_id}").json()
    sign_in = httpx.post(f"{stack.ports.channels_url}/console/api/session", json=AGENT)

    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "csrf_header_missing")
    assert (sign_in.status_code, sign_in.json()["error"]["code"]) == (403, "csrf_header_missing")
    assert "set-cookie" not in sign_in.headers
    assert [m["text"] for m in transcript["messages"] if m["author"] == "staff"] == []


def test_a_token_the_backend_refuses_signs_the_console_out(stack):
    with console(stack, credentials=None) as client:
        client.cookies.set("console_session", "not-a-token", path="/console")
        response = client.get("/console/api/queue")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signed_out"
    assert 'console_session=""' in response.headers["set-cookie"]


def test_the_live_socket_needs_a_session_and_the_consoles_origin(stack):
    url = stack.ports.channels_url.replace("http", "ws", 1) + "/console/ws"
    with ws_connect(url) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4401

    with console(stack) as client:
        cookie = {"Cookie": f"console_session={client.cookies['console_session']}"}
    with pytest.raises(InvalidStatus):
        ws_connect(url, origin="https://evil.example", additional_headers=cookie)

    with ws_connect(url, origin=stack.ports.channels_url, additional_headers=cookie) as socket:
        user = hand_off(stack)
        hints: list[dict] = []
        deadline = time.monotonic() + 30
        while {"type": "state", "conversation_id": user.conversation_id} not in hints:
            hints.append(json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic()))))
    assert {"type": "messages", "conversation_id": user.conversation_id} in hints
    assert all(set(hint) == {"type", "conversation_id"} for hint in hints), "ids only, no text"
    with console(stack) as client:
        client.post(f"/console/api/tickets/{open_ticket_of(stack, user.conversation_id)}/hand-back")
    user.close()


def test_replying_or_handing_back_after_the_hand_back_is_a_clear_error(stack, handed_off):
    _user, ticket_id = handed_off
    with console(stack) as client:
        empty = client.post(f"/console/api/tickets/{ticket_id}/replies", json={"text": "  "})
        assert client.post(f"/console/api/tickets/{ticket_id}/hand-back").json() == {"state": "bot"}
        again = client.post(f"/console/api/tickets/{ticket_id}/hand-back")
        late = client.post(f"/console/api/tickets/{ticket_id}/replies", json={"text": "hello?"})
        missing = client.get("/console/api/tickets/999999")

    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "empty_reply")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "conversation_not_found")
    assert (late.status_code, late.json()["error"]["code"]) == (404, "conversation_not_found")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ticket_not_found")


def test_lookups_answer_with_the_backends_codes_and_are_audited(stack):
    with console(stack) as client:
        invalid = client.post("/console/api/lookups", json={"pesel": "12345678901"})
        nobody = client.post("/console/api/lookups", json={"pesel": "65063007894"})
        grouped = client.post("/console/api/lookups", json={"pesel": "850703 12345"})

    assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "invalid_pesel")
    assert "12345678901" not in invalid.text
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "person_not_found")
    assert grouped.status_code == 200
    assert grouped.headers["cache-control"] == "no-store"
    assert grouped.json()["person"]["first_name"] == "Olena"
    latest = [(e["staff_username"], e["subject"], e["result"]) for e in audit(stack)[:3]]
    assert ("agent", "•••••••7894", "not_found") in latest


def test_the_console_says_so_when_the_backend_is_down(stack):
    with console(stack) as client:
        stack.stop("backend")
        try:
            response = client.get("/console/api/queue")
        finally:
            stack.start("backend")

    assert (response.status_code, response.json()["error"]["code"]) == (503, "backend_unavailable")
    assert "not answering" in response.json()["error"]["message"]


def test_the_page_is_locked_to_its_own_origin(stack):
    response = httpx.get(f"{stack.ports.channels_url}/console")

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "innerHTML" not in httpx.get(f"{stack.ports.channels_url}/console/static/console.js").text
    # Only the listed assets: httpx would resolve "../" itself, so the dots go percent-encoded and
    # reach the route as the name "..".
    for outside in ("%2E%2E", "guard.py", "index.html"):
        assert httpx.get(f"{stack.ports.channels_url}/console/static/{outside}").status_code == 404


@pytest.mark.browser
def test_staff_answer_hand_back_look_up_and_see_failures_in_a_real_browser(stack, handed_off, chromium):
    user, ticket_id = handed_off
    base = stack.ports.channels_url
    audited_before = len(audit(stack))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)  # two cores, shared with a model training
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
    try:
        page = context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        # Content-Security-Policy refusals show up as console errors. Chromium also logs each answer
        # that is not a 2xx, which this test causes on purpose (401 before sign-in, 404 for nobody).
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not message.text.startswith("Failed to load resource")
                and page_errors.append(message.text)
            ),
        )

        page.goto(f"{base}/console")
        page.get_by_label("Login").fill("agent")
        page.get_by_label("Hasło").fill("agent-demo-pass")
        page.get_by_role("button", name="Zaloguj").click()

        # The queue: language, channel and waiting time.
        entry = page.locator(f'[data-ticket="{ticket_id}"]')
        expect(entry).to_contain_text("ukraiński · widżet WWW · nowe")
        expect(entry).to_contain_text(re.compile(r"czeka (< 1 min|\d+ min)"))
        entry.click()
        transcript = page.locator("#transcript")
        expect(transcript).to_contain_text("хочу поговорити з людиною")

        # What the person writes now appears without a reload, as text, never as markup.
        user.say("<b>терміново</b> не можу увійти в IKP", wait=False)
        expect(transcript).to_contain_text("<b>терміново</b> не можу увійти в IKP")
        assert transcript.locator("b").count() == 0

        # The reply reaches the widget.
        reply = "Dzień dobry, pomogę. Добрий день, зараз допоможу."
        page.get_by_label("Twoja odpowiedź").fill(reply)
        page.get_by_role("button", name="Wyślij").click()
        assert user.wait_for_message("staff")["text"] == reply
        expect(transcript.locator(".from-staff")).to_contain_text(reply)
        expect(page.get_by_label("Twoja odpowiedź")).to_have_value("")
        expect(entry).to_contain_text("obsługuje: agent")
        page.screenshot(path=ARTIFACTS / "console.png", full_page=True)

        # Handed back: the widget hears it, the queue drops the ticket, and the bot answers again.
        before = user.last_id()
        page.get_by_role("button", name="Oddaj botowi").click()
        user.wait_until(lambda: user.state == "bot", what="the hand-back")
        user.wait_for_message("system", after=before)
        expect(page.locator("#conversation-closed")).to_be_visible()
        expect(page.locator("#reply-form")).to_be_hidden()
        expect(entry).to_have_count(0)
        before = user.last_id()
        user.say("що таке PESEL?")
        assert "PESEL" in user.wait_for_message("bot", after=before)["text"]

        # A lookup shows the record with the PESEL masked until revealed, and is audited.
        page.get_by_role("button", name="Wyszukaj osobę").click()
        page.get_by_label("PESEL").fill("65063007894")
        page.get_by_role("button", name="Szukaj", exact=True).click()
        expect(page.locator("#lookup-error")).to_have_text("Nie znaleziono osoby o tym numerze PESEL.")
        page.get_by_label("PESEL").fill(OLENA_PESEL)
        page.get_by_role("button", name="Szukaj", exact=True).click()
        expect(page.locator("#lookup-name")).to_have_text("Olena Kovalenko")
        record = page.locator("#lookup-record")
        expect(record).to_contain_text("•••••••2345")
        expect(record).to_contain_text("aktywny, ważny do")
        assert OLENA_PESEL not in page.locator("main").inner_text()
        page.get_by_role("button", name="Pokaż").click()
        expect(page.locator("#lookup-pesel-value")).to_have_text(OLENA_PESEL)
        entries = audit(stack)  # newest first
        new_rows = entries[: len(entries) - audited_before]
        assert [(e["staff_username"], e["action"], e["subject"], e["result"]) for e in new_rows] == [
            ("agent", "person_lookup", "•••••••2345", "found"),
            ("agent", "person_lookup", "•••••••7894", "not_found"),
        ]

        # The failures page lists what the bot did not understand, with personal data masked. The
        # model reads any message with a valid PESEL as `inform` (a message that gives a value), so
        # the PESEL one is not a failure, and must not show up unmasked either.
        stranger = WidgetClient(base, "pl")
        for text in (
            "mój pesel 85070312345 xyzzy qwerty",
            "xyzzy qwerty",
            "gdzie kupić pizzę, mój mail olena@example.org",
        ):
            before = stranger.last_id()
            stranger.say(text)
            stranger.wait_for_message("bot", after=before)
        stranger.close()
        page.get_by_role("button", name="Czego bot nie rozumie").click()
        rows = page.locator("#failures-rows tr")
        nonsense = rows.filter(has=page.locator("td.failure-text", has_text=re.compile("^xyzzy qwerty$")))
        # Unreadable or off-topic text is either below the fallback threshold or read as out of
        # scope: both are failures the page lists (which one is the model's call, not the console's).
        expect(nonsense).to_contain_text(re.compile("nlu_fallback|out_of_scope"))
        pizza = rows.filter(has_text="gdzie kupić pizzę, mój mail <email>")
        expect(pizza).to_contain_text("polski")
        expect(pizza).to_contain_text(re.compile("nlu_fallback|out_of_scope"))
        listed = page.locator("#failures-rows").inner_text()
        assert OLENA_PESEL not in listed and "olena@example.org" not in listed

        # English on request.
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Helpdesk console")
        expect(page.get_by_role("button", name="What the bot fails on")).to_be_visible()
    finally:
        context.close()
    assert page_errors == []
