"""The account actions against the real backend, started on a database of its own."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devstack.project import Databases, Ports, Stack

ROOT = Path(__file__).resolve().parents[2]
# The action server runs from bot/ (`python -m rasa_sdk --actions actions`); tests import it the same way.
sys.path.insert(0, str(ROOT / "bot"))


@pytest.fixture(scope="session")
def backend(tmp_path_factory) -> Iterator[str]:
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    stack = Stack(Ports(backend=8201), databases, timeout=60)
    stack.load_demo_data()
    stack.start("backend")
    try:
        yield stack.ports.backend_url
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def use_backend(backend, monkeypatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend)


@pytest.fixture(scope="session")
def domain() -> dict:
    responses: dict = {}
    for path in (ROOT / "bot" / "domain").glob("*.yml"):
        responses.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return {"responses": responses}
