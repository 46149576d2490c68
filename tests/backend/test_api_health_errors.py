"""Health and readiness, and the one error shape for everything that goes wrong."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from api_helpers import OLENA, SERVICE


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_ready_is_503_when_the_database_is_unreachable(app: FastAPI, tmp_path: Path) -> None:
    with TestClient(app) as client:
        unreachable = create_engine(f"sqlite:///{tmp_path}/missing-dir/db.sqlite")
        app.state.session_factory = sessionmaker(unreachable)
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"


def test_unknown_paths_and_methods_have_the_error_shape(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong_method = client.put("/v1/tickets")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")


def test_validation_errors_give_locations_and_messages_but_never_the_input(client: TestClient) -> None:
    body = {"pesel": OLENA["pesel"], "caller": "", "email": OLENA["email"]}
    response = client.post("/v1/verifications", json=body, headers=SERVICE)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [
        {"loc": ["body", "caller"], "msg": error["details"][0]["msg"], "type": "string_too_short"}
    ]
    assert OLENA["pesel"] not in response.text and OLENA["email"] not in response.text


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/verifications",
        content=b'{"pesel": "85070312345"',
        headers=SERVICE | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert OLENA["pesel"] not in response.text


def test_an_unexpected_error_is_500_internal_error_without_a_stack_trace(app: FastAPI) -> None:
    def explode() -> None:
        raise RuntimeError(f"secret detail {OLENA['pesel']}")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text and "secret detail" not in response.text
