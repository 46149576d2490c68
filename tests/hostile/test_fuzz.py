"""Schema-based fuzzing (schemathesis) of the running channel service's HTTP API, console calls
included with a signed-in staff session: never a 5xx, and the service still ready afterwards.
Bounded: FUZZ_EXAMPLES cases an operation, a minute or so in all."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from channels.app import create_app
from channels.config import Settings
from tests.support.stack import healthy

# Read once from the document; an app that never starts is enough for that.
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(Settings(channels_database_url="sqlite://")).openapi()["paths"].items()
    for method in methods
]
FUZZ_EXAMPLES = 15
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def staff_headers(stack) -> dict[str, str]:
    """The console's CSRF header and a signed-in agent's session cookie."""
    headers = {"X-Requested-With": "console"}
    body = {"username": "agent", "password": "agent-demo-pass"}
    response = httpx.post(f"{stack.ports.channels_url}/console/api/session", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return headers | {"Cookie": f"console_session={response.cookies['console_session']}"}


@pytest.fixture(scope="module")
def schema(stack):
    return schemathesis.openapi.from_url(f"{stack.ports.channels_url}/openapi.json")


def test_the_console_api_is_in_the_document():
    assert ("POST", "/console/api/tickets/{ticket_id}/replies") in OPERATIONS
    assert ("POST", "/console/api/lookups") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors(stack, schema, staff_headers, method, path):
    operation = schema[path][method]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=staff_headers, checks=[not_a_server_error], timeout=30)

    fuzz()
    assert healthy(stack)
