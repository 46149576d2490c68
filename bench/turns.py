"""Reply time against turn number: one person's long session on a Rasa server's REST channel.

The person goes through bench/conversations.py's conversation again and again under one sender
id (greeting, a guide started by button or typed, steps, an FAQ question mid-guide, "Continue",
more steps, thanks), so the tracker grows by every turn as a real long session's does. Each turn
is timed from sending the message until Rasa's HTTP reply is in (wall time).

`turn_latency(url, turns)` is what the benchmark calls; python -m bench.turns URL [TURNS] prints it.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Iterator

import httpx

from bench.conversations import LANGUAGES, Move, Reply, conversation, rest_message, rest_reply
from devstack.project import RASA_TOKEN

REPLY_TIMEOUT = 30.0


def moves(rng: random.Random, language: str) -> Iterator[Move]:
    """Conversations one after the other, as one generator: send() each move's reply back."""
    while True:
        person = conversation(rng, language)
        try:
            move = next(person)
            while True:
                reply: Reply = yield move
                move = person.send(reply)
        except StopIteration:
            continue


def turn_latency(url: str, turns: int, seed: int = 7) -> list[tuple[int, float]]:
    """(turn, seconds) for turns 1…`turns` of one session on the REST channel at `url`."""
    rng = random.Random(seed)
    language = rng.choice(LANGUAGES)
    sender = f"bench-turns-{uuid.uuid4()}"
    timings = []
    person = moves(rng, language)
    move = next(person)
    with httpx.Client(base_url=url, timeout=REPLY_TIMEOUT) as client:
        for turn in range(1, turns + 1):
            started = time.perf_counter()
            response = client.post("/webhooks/rest/webhook", json=rest_message(sender, language, move))
            timings.append((turn, time.perf_counter() - started))
            response.raise_for_status()
            reply = rest_reply(response.json())
            if reply.handoff:
                # A handoff pauses the conversation until staff hand it back: the session goes on.
                _resume(client, sender)
            move = person.send(reply)
    return timings


def _resume(client: httpx.Client, sender: str) -> None:
    """What staff handing the conversation back does to the tracker (Rasa's HTTP API, loopback)."""
    params = {"token": RASA_TOKEN} if RASA_TOKEN else {}
    events = [{"event": "resume"}]
    client.post(f"/conversations/{sender}/tracker/events", json=events, params=params).raise_for_status()


def main(argv: list[str]) -> int:
    url, turns = argv[0], int(argv[1]) if len(argv) > 1 else 300
    for turn, seconds in turn_latency(url, turns):
        print(f"{turn:>4} {seconds * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
