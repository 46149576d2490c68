"""The account actions against the real backend, started on a database of its own."""

from collections.abc import Iterator

import pytest

from tests.support.stack import stack_for_tests


@pytest.fixture(scope="session")
def backend(tmp_path_factory) -> Iterator[str]:
    """The real backend with demo data, on a free port."""
    with stack_for_tests(tmp_path_factory, only=("backend",), timeout=60) as stack:
        yield stack.ports.backend_url


@pytest.fixture(autouse=True)
def use_backend(backend, monkeypatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend)
