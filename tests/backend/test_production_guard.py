"""APP_ENV=production: the backend refuses the development secrets and mailbox at start-up, with a
message naming what to set, and never serves the development mailbox."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.config import DEV_SECRET_KEY, DEV_SERVICE_TOKEN
from common.environment import ProductionRefused
from conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
REAL = {"backend_service_token": "a-real-token", "backend_secret_key": "a-real-key", "smtp_host": "smtp.test"}


def test_production_refuses_each_development_value_by_name(database_url: str) -> None:
    cases = {
        "BACKEND_SERVICE_TOKEN": {"backend_service_token": DEV_SERVICE_TOKEN},
        "BACKEND_SECRET_KEY": {"backend_secret_key": DEV_SECRET_KEY},
        "SMTP_HOST": {"smtp_host": ""},
    }
    for name, development in cases.items():
        with pytest.raises(ProductionRefused, match=f"APP_ENV=production: {name} "):
            make_settings(database_url, app_env="production", **(REAL | development))


def test_production_with_real_values_starts_without_the_development_mailbox(database_url: str) -> None:
    settings = make_settings(database_url, app_env="production", **REAL)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/v1/dev/mailbox").status_code == 404
        assert "/v1/dev/mailbox" not in client.get("/openapi.json").json()["paths"]


def test_development_keeps_its_defaults_and_the_mailbox(database_url: str) -> None:
    settings = make_settings(database_url, backend_service_token=DEV_SERVICE_TOKEN, smtp_host="")
    app = create_app(settings)
    assert "/v1/dev/mailbox" in app.openapi()["paths"]


def test_the_server_stops_at_start_up_with_the_reason_only(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    done = subprocess.run(
        [sys.executable, "-m", "backend"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "The backend refuses to start with APP_ENV=production: "
        "BACKEND_SERVICE_TOKEN is unset or has its development value; "
        "BACKEND_SECRET_KEY is unset or has its development value; "
        "SMTP_HOST is unset: one-time codes would wait in the development mailbox"
    )
