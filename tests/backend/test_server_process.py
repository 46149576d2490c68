"""The real service in its own process: the delivery worker, real SMTP, and no personal data in its log."""

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from api_helpers import OLENA, SERVICE, code_in
from devstack import free_port
from devstack.supervise import stop
from server_process import load_demo_data, run_module, running_server, service_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("session_factory")  # a clean database for each server
SMTP_LOGIN = (b"mailer", b"mail-secret")


def sent_code(api: httpx.Client, to: str) -> str | None:
    """The code in the newest message to `to`, once the worker has delivered it."""
    messages = api.get("/v1/dev/mailbox", params={"to": to}).json()["messages"]
    return code_in(messages[0]["body"]) if messages and messages[0]["status"] == "sent" else None


def full_conversation(api: httpx.Client) -> None:
    """Everything a conversation and a helpdesk session do with Olena's data."""
    started = api.post("/v1/verifications", json={"pesel": OLENA["pesel"], "caller": "conv-1"})
    assert started.status_code == 202
    code = wait_for(lambda: sent_code(api, OLENA["email"]))
    assert wait_for(lambda: sent_code(api, OLENA["phone"])) == code
    confirmed = api.post(
        f"/v1/verifications/{started.json()['verification_id']}/confirm", json={"code": code}
    )
    me = api.get("/v1/me/onboarding", headers={"Authorization": f"Bearer {confirmed.json()['access_token']}"})
    assert me.json()["first_name"] == "Olena"
    answers = [
        api.post("/v1/username-reminders", json={"email": OLENA["email"], "caller": "c"}),
        api.post(
            "/v1/password-resets", json={"username": "olena_k85", "pesel": OLENA["pesel"], "caller": "c"}
        ),
        api.post("/v1/verifications", json={"pesel": OLENA["pesel"], "caller": ""}),
        api.post(
            "/v1/tickets",
            json={
                "conversation_id": "c",
                "channel": "web",
                "language": "uk",
                "reason": f"call {OLENA['phone']}",
            },
        ),
    ]
    assert [answer.status_code for answer in answers] == [202, 202, 422, 201]
    staff = api.post("/v1/staff/sessions", json={"username": "agent", "password": "agent-demo-pass"}).json()
    staff_headers = {"Authorization": f"Bearer {staff['access_token']}", "X-Service-Token": ""}
    assert (
        api.post("/v1/staff/lookups", json={"pesel": OLENA["pesel"]}, headers=staff_headers).status_code
        == 200
    )


def test_no_personal_data_in_the_log_after_a_full_conversation(database_url: str, tmp_path: Path) -> None:
    load_demo_data(database_url)
    # Debug level: SQLAlchemy then logs every statement's parameters, the hardest case for the mask.
    with (
        running_server(database_url, tmp_path / "server.log", BACKEND_LOG_LEVEL="debug") as server,
        httpx.Client(base_url=server.url, headers=SERVICE) as api,
    ):
        full_conversation(api)
    log = server.log.read_text()
    assert '"POST /v1/verifications HTTP/1.1" 202' in log
    assert "/v1/dev/mailbox?to=<email>" in log and "sqlalchemy.engine" in log  # the mask did its work
    for pii in (OLENA["pesel"], OLENA["email"], quote(OLENA["email"]), OLENA["phone"], OLENA["phone"][3:]):
        assert pii not in log, f"{pii!r} is in the server log"


def test_the_standalone_worker_delivers_when_the_api_does_not(database_url: str, tmp_path: Path) -> None:
    load_demo_data(database_url)
    with (
        running_server(database_url, tmp_path / "server.log", BACKEND_RUN_WORKER="false") as server,
        httpx.Client(base_url=server.url, headers=SERVICE) as api,
    ):
        assert api.post("/v1/verifications", json={"pesel": OLENA["pesel"], "caller": "c"}).status_code == 202
        assert api.get("/v1/dev/mailbox").json()["messages"][0]["status"] == "pending"
        standalone = run_module("backend.worker", service_env(database_url), tmp_path / "worker.log")
        try:
            assert wait_for(lambda: sent_code(api, OLENA["email"]))
        finally:
            stop(standalone)


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted"


def only_our_login(
    _server: object, _session: object, _envelope: object, _mechanism: str, data: object
) -> AuthResult:
    return AuthResult(success=isinstance(data, LoginPassword) and (data.login, data.password) == SMTP_LOGIN)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=only_our_login, auth_required=True,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    yield inbox, port
    controller.stop()


# The test server has no certificate, so the login goes over plain SMTP (production uses SMTP_STARTTLS).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_codes_go_out_over_real_smtp(
    database_url: str, tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    load_demo_data(database_url)
    smtp = {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false", "SMTP_USER": "mailer",
        "SMTP_PASSWORD": "mail-secret", "SMTP_FROM": "Helper <helper@example.org>",
    }  # fmt: skip
    with (
        running_server(database_url, tmp_path / "server.log", **smtp) as server,
        httpx.Client(base_url=server.url, headers=SERVICE) as api,
    ):
        started = api.post("/v1/verifications", json={"pesel": OLENA["pesel"], "caller": "c"}).json()
        envelope = wait_for(lambda: inbox.envelopes and inbox.envelopes[0])
        assert (envelope.mail_from, envelope.rcpt_tos) == ("helper@example.org", [OLENA["email"]])
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        code = code_in(message.get_body().get_content())
        assert re.fullmatch(r"\d{6}", code)
        confirmed = api.post(f"/v1/verifications/{started['verification_id']}/confirm", json={"code": code})
        assert confirmed.status_code == 200
        assert api.get("/v1/dev/mailbox").status_code == 404
    assert len(inbox.envelopes) == 1  # the SMS stays in the outbox: there is no SMS gateway
