"""channels/health_probe.py against servers that answer as the test says, in this process: the
answer's status decides; a kept connection serves the next check, and one the server closed
meanwhile gives way to a new one; anything but a timely HTTP answer is not healthy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from channels.health_probe import HealthProbe
from devstack import free_port

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}'
DOWN = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
# What the server does with one request: writes the bytes, and then keeps the connection or not.
Answer = tuple[bytes, bool]


@asynccontextmanager
async def server(answers: list[Answer]) -> AsyncIterator[tuple[str, list[int]]]:
    """Answers requests in the order of `answers` (an empty answer: silence); yields the health
    URL and how many requests each connection carried."""
    served: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(0)
        while answers:
            await reader.readuntil(b"\r\n\r\n")
            served[-1] += 1
            answer, keep = answers.pop(0)
            if not answer:
                await asyncio.Event().wait()  # never answers
            writer.write(answer)
            await writer.drain()
            if not keep:
                break
        writer.close()

    port = free_port()
    listening = await asyncio.start_server(handle, "127.0.0.1", port)
    async with listening:
        yield f"http://127.0.0.1:{port}/health", served


def check(answers: list[Answer], times: int, timeout: float = 2.0) -> tuple[list[bool], list[int]]:
    async def run() -> tuple[list[bool], list[int]]:
        async with server(answers) as (url, served):
            probe = HealthProbe(url, timeout)
            results = [await probe.healthy() for _ in range(times)]
            await probe.close()
            return results, served

    return asyncio.run(run())


def test_the_status_decides_and_one_connection_serves_every_check():
    assert check([(OK, True), (DOWN, True), (OK, True)], 3) == ([True, False, True], [3])


def test_a_connection_the_server_closed_meanwhile_gives_way_to_a_new_one():
    assert check([(OK, False), (OK, True)], 2) == ([True, True], [1, 1])


def test_an_answer_without_a_length_is_not_kept_past_its_status():
    assert check([(CHUNKED, True), (OK, True)], 2) == ([True, True], [1, 1])


def test_a_silent_server_is_not_healthy_once_the_timeout_is_over():
    results, _ = check([(b"", True)], 1, timeout=0.3)
    assert results == [False]


def test_an_answer_that_is_no_http_is_not_healthy():
    results, _ = check([(b"hello\r\n\r\n", True)], 1)
    assert results == [False]


def test_nobody_listening_is_not_healthy():
    async def run() -> bool:
        return await HealthProbe(f"http://127.0.0.1:{free_port()}/health").healthy()

    assert asyncio.run(run()) is False


@pytest.mark.parametrize("url", ["ftp://actions/health", "actions:5055/health", "http:///health"])
def test_only_http_urls(url):
    with pytest.raises(ValueError):
        HealthProbe(url)
