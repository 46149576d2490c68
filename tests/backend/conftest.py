"""Fixtures for the account backend: a database (SQLite file, or TEST_DATABASE_URL), a clock tests can move,
the app in-process, and the real server in a subprocess."""

import functools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from api_helpers import SECRET_KEY, SERVICE_TOKEN
from backend import demo as demo_module
from backend.app import create_app
from backend.config import Settings
from backend.migrate import upgrade_to_head
from backend.models import Base
from backend.security import hash_password
from common.db import make_engine, make_session_factory

_cached_hash_password = functools.cache(hash_password)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'backend.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Empties every table first: each test starts from a clean, migrated database."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
    return make_session_factory(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "backend_service_token": SERVICE_TOKEN,
        "backend_secret_key": SECRET_KEY,
        "backend_run_worker": False,  # tests run delivery rounds themselves
        "smtp_host": "",
        "rate_limit_per_ip": 300,
        "staff_admin_password": "admin-demo-pass",
        "staff_agent_password": "agent-demo-pass",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]  # values of mixed types by field name


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(settings: Settings, clock: FakeClock, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def demo(db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract's demo people and the two staff users."""
    # Real argon2 hashes, made once per test run rather than once per test (hashing is slow on purpose).
    monkeypatch.setattr(demo_module, "hash_password", _cached_hash_password)
    demo_module.load(db, settings)
