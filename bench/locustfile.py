"""Locust users: a person having a conversation (bench/conversations.py) with the bot.

- WebUser: through the channel service, as the website widget does (WebSocket /widget/ws): the
  time of a message is from sending it until the bot's reply is pushed back.
- RestUser: directly on a Rasa server's REST channel (POST /webhooks/rest/webhook); the host
  says which server (the project's model or the stock one).

Every message is one Locust request named "message"; a failure is an error answer, a transport
error, no reply within REPLY_TIMEOUT, or the channel service's "assistant unavailable" notice.
BENCH_THINK sets the think time between messages, "1-3" seconds by default (a person reading
and typing); "0" sends the next message as soon as the reply is there (to saturate).
BENCH_SAMPLES names a file that gets every message's time, duration and outcome (one CSV line
each): Locust's own figures are cumulative, a soak run plots percentiles over time from these.

  locust -f bench/locustfile.py --headless --host http://127.0.0.1:8000 -u 10 -r 5 -t 30s WebUser

(against `make run`; python -m bench starts its own stack on free ports)
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid

import gevent
import websocket
from locust import User, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

from bench.conversations import LANGUAGES, Button, Move, Reply, conversation, rest_reply

REPLY_TIMEOUT = 20.0
SAMPLES = os.environ.get("BENCH_SAMPLES")
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK", "1-3").split("-"))


def think() -> None:
    if THINK[-1] > 0:
        gevent.sleep(random.uniform(THINK[0], THINK[-1]))


class NoReply(Exception):
    pass


if SAMPLES:
    _samples = open(SAMPLES, "a", buffering=1 << 16)  # noqa: SIM115 - open while Locust runs

    @events.request.add_listener
    def _record(name: str, response_time: float, exception: Exception | None, **_: object) -> None:
        if name == "message":
            _samples.write(f"{time.time():.3f},{response_time:.1f},{int(exception is not None)}\n")

    @events.quitting.add_listener
    def _close(**_: object) -> None:
        _samples.close()


class Conversing(User):
    """One conversation per task run: a new person each time, in a random language."""

    abstract = True
    wait_time = constant(0)

    def open(self, sender: str, language: str) -> None: ...

    def close(self) -> None: ...

    def send(self, sender: str, language: str, move: Move) -> Reply | None:
        raise NotImplementedError

    @task
    def converse(self) -> None:
        rng = random.Random()
        language = rng.choice(LANGUAGES)
        sender = f"bench-{uuid.uuid4()}"
        think()  # a person arriving, reading the greeting
        try:
            self.open(sender, language)
        except Exception as error:  # noqa: BLE001 - any failure to connect is an error of the run
            self.fire(0.0, 0, error, name="connect")
            return
        try:
            moves = conversation(rng, language)
            move = next(moves)
            while True:
                reply = self.send(sender, language, move)
                if reply is None or reply.handoff:
                    return
                think()
                move = moves.send(reply)
        except StopIteration:
            return
        finally:
            self.close()

    def fire(self, started: float, length: int, error: Exception | None, name: str = "message") -> None:
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        self.environment.events.request.fire(
            request_type=type(self).__name__,
            name=name,
            response_time=elapsed,
            response_length=length,
            exception=error,
            context={},
        )


class RestUser(Conversing, FastHttpUser):
    """Straight to Rasa's REST channel, with the language hint the channel service would send."""

    abstract = False
    network_timeout = REPLY_TIMEOUT
    connection_timeout = 5.0

    def send(self, sender: str, language: str, move: Move) -> Reply | None:
        body = {"sender": sender, "message": move.payload or move.text, "metadata": {"language": language}}
        with self.client.post(
            "/webhooks/rest/webhook", json=body, name="message", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return None
            messages = response.json()
            if not messages:
                response.failure("no reply")
                return None
            return rest_reply(messages)


class WebUser(Conversing):
    """Through the channel service's widget socket, one socket per conversation (a page open)."""

    abstract = False

    def open(self, sender: str, language: str) -> None:
        url = f"{self.host.replace('http', 'ws', 1)}/widget/ws?session={sender}&lang={language}"
        self.socket = websocket.create_connection(url, timeout=REPLY_TIMEOUT)
        self.socket.send(json.dumps({"type": "hello", "after": 0}))
        self.last_id = 0
        for _ in range(2):  # the state, then the (empty) history
            self._receive()

    def close(self) -> None:
        self.socket.close()

    def send(self, sender: str, language: str, move: Move) -> Reply | None:
        frame = {"type": "message", "text": move.text}
        if move.payload:
            frame = {"type": "button", "title": move.text, "payload": move.payload}
        started = time.perf_counter()
        try:
            self.socket.send(json.dumps(frame))
            reply, length = self._await_reply()
        except websocket.WebSocketTimeoutException:
            self.fire(started, 0, NoReply(f"no reply within {REPLY_TIMEOUT:.0f} s"))
            return None
        except Exception as error:  # noqa: BLE001 - a broken socket fails this message
            self.fire(started, 0, error)
            return None
        if reply.handoff and not reply.texts:
            return reply  # the message went to the helpdesk: no bot reply to time
        self.fire(started, length, NoReply("assistant unavailable") if reply.notice else None)
        return None if reply.notice else reply

    def _await_reply(self) -> tuple[Reply, int]:
        """Frames until the bot's (or the service's) messages after the person's own arrive."""
        length = 0
        while True:
            raw, frame = self._receive()
            length += len(raw)
            if frame["type"] == "state" and frame["state"] == "handoff":
                return Reply(handoff=True), length
            if frame["type"] != "messages":
                continue
            answers = [m for m in frame["messages"] if m["id"] > self.last_id and m["author"] != "user"]
            self.last_id = max([self.last_id, *(m["id"] for m in frame["messages"])])
            if answers:
                return _web_reply(answers), length

    def _receive(self) -> tuple[str, dict]:
        raw = self.socket.recv()
        return raw, json.loads(raw)


def _web_reply(messages: list[dict]) -> Reply:
    reply = Reply()
    for message in messages:
        reply.texts.append(message["text"])
        reply.buttons += [Button(b["title"], b["payload"]) for b in message["buttons"]]
        reply.notice |= message["author"] == "system"
    return reply
