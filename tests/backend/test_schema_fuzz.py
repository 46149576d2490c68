"""Schema-based fuzzing (schemathesis) of every operation in the OpenAPI document: never a 5xx."""

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api_helpers import SERVICE, staff_token
from backend.app import create_app
from conftest import make_settings

# The operations, read once from the document (an app on an unused in-memory database is enough for that).
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(make_settings("sqlite://")).openapi()["paths"].items()
    for method in methods
]
FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def auth_headers(app: FastAPI) -> dict[str, str]:
    """The service token and an administrator's sign-in: every operation is reachable past authentication."""
    with TestClient(app) as client:
        return SERVICE | {"Authorization": f"Bearer {staff_token(client)}"}


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors(app: FastAPI, auth_headers: dict[str, str], method: str, path: str) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=auth_headers, checks=[not_a_server_error])

    fuzz()
