"""RasaClient.actions_ready against an action server that answers as the test says, in this
process: the status decides; a silent, refused or garbled answer is not healthy; turns that ask
while a check is on its way share it (one request), and the next turn asks again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from channels import rasa_client
from channels.rasa_client import RasaClient
from devstack import free_port

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}'
DOWN = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"


@asynccontextmanager
async def action_server(answers: list[bytes], delay: float = 0.0) -> AsyncIterator[tuple[str, list[int]]]:
    """Answers each request with the next of `answers` after `delay` (an empty answer: silence);
    yields the actions URL and a one-item list counting the requests."""
    served = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            served[0] += 1
            answer = answers.pop(0)
            if not answer:
                await asyncio.Event().wait()  # never answers
            await asyncio.sleep(delay)
            writer.write(answer)
            await writer.drain()
        writer.close()

    port = free_port()
    listening = await asyncio.start_server(handle, "127.0.0.1", port)
    async with listening:
        yield f"http://127.0.0.1:{port}", served


def readiness(answers: list[bytes], turns: list[int], delay: float = 0.0) -> tuple[list[bool], int]:
    """`turns`: how many turns ask at once, round after round."""

    async def run() -> tuple[list[bool], int]:
        async with action_server(answers, delay) as (url, served):
            client = RasaClient("http://127.0.0.1:1", "", 5.0, url)
            found: list[bool] = []
            for at_once in turns:
                found += await asyncio.gather(*(client.actions_ready() for _ in range(at_once)))
            await client.close()
            return found, served[0]

    return asyncio.run(run())


def test_the_status_decides_turn_after_turn():
    assert readiness([OK, DOWN, OK], [1, 1, 1]) == ([True, False, True], 3)


def test_turns_asking_while_a_check_is_on_its_way_share_it():
    assert readiness([OK, DOWN], [5, 3], delay=0.05) == ([True] * 5 + [False] * 3, 2)


def test_a_silent_server_is_not_healthy_once_the_timeout_is_over(monkeypatch):
    timeouts = dict.fromkeys(rasa_client.HEALTH_TIMEOUTS, 0.3)
    monkeypatch.setattr(rasa_client, "HEALTH_TIMEOUTS", timeouts)
    assert readiness([b""], [1])[0] == [False]


def test_an_answer_that_is_no_http_is_not_healthy():
    assert readiness([b"hello\r\n\r\n"], [1])[0] == [False]


def test_nobody_listening_is_not_healthy():
    async def run() -> bool:
        client = RasaClient("http://127.0.0.1:1", "", 5.0, f"http://127.0.0.1:{free_port()}")
        try:
            return await client.actions_ready()
        finally:
            await client.close()

    assert asyncio.run(run()) is False


def test_without_an_action_server_every_turn_may_go():
    async def run() -> bool:
        client = RasaClient("http://127.0.0.1:1", "", 5.0, "")
        try:
            return await client.actions_ready()
        finally:
            await client.close()

    assert asyncio.run(run()) is True
