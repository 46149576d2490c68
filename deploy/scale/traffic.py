"""The load of the scale test: people talking to the bot through the website widget's WebSocket,
and bursts of one conversation's messages straight at Rasa for the lock-store race check.

Each turn of a conversation opens a new socket (as a page reload does), so that nginx's round
robin spreads one conversation's turns over both channel services.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import connect

from common.languages import LANGUAGES

TURN_TIMEOUT = 120.0

# (kind, value): "text" is typed; "button" presses the last reply's button with this payload.
Step = tuple[str, str]
GREETING = {"uk": "привіт", "pl": "dzień dobry", "en": "hello", "ru": "привет"}
STUCK = {"uk": "не виходить", "pl": "nie działa mi to", "en": "it doesn't work", "ru": "не получается"}
FAQ = {
    "uk": "скільки коштує користування ikp?",
    "pl": "czy konto pacjenta jest płatne?",
    "en": "do I have to pay for the patient account?",
    "ru": "сколько стоит пользоваться ikp?",
}
THANKS = {"uk": "дякую", "pl": "dziękuję", "en": "thank you", "ru": "спасибо"}
TASKS = ("/get_pesel", "/get_trusted_profile", "/ikp_login", "/forgot_password")


def script(number: int) -> tuple[str, list[Step]]:
    """Conversation `number`: its language and its 8 turns (a walkthrough with buttons, being
    stuck, an FAQ in between, back to the walkthrough, thanks)."""
    language = LANGUAGES[number % len(LANGUAGES)]
    task = TASKS[(number // len(LANGUAGES)) % len(TASKS)]
    steps = [
        ("text", GREETING[language]),
        ("button", task),
        ("button", "/affirm"),
        ("text", STUCK[language]),
        ("button", "/affirm"),
        ("text", FAQ[language]),
        ("button", "/affirm"),
        ("text", THANKS[language]),
    ]
    return language, steps


@dataclass
class Turn:
    sent: str  # what Rasa receives: the text, or the button's payload
    replies: list[dict[str, Any]] = field(default_factory=list)  # stored messages after it
    # Messages stored after the turn before had been answered (found in this socket's history):
    # a reply that came late, or a second answer to one message.
    late: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


@dataclass
class Conversation:
    session: str
    language: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"web-{self.session}"


async def converse(number: int, base: str) -> Conversation:
    language, steps = script(number)
    conversation = Conversation(uuid.uuid4().hex, language)
    last_id, buttons = 0, []
    for kind, value in steps:
        frame, sent = _frame(kind, value, buttons)
        turn = Turn(sent)
        conversation.turns.append(turn)
        url = f"{base}/widget/ws?session={conversation.session}&lang={language}"
        try:
            turn.late, turn.replies = await asyncio.wait_for(_turn(url, last_id, frame), TURN_TIMEOUT)
        except (TimeoutError, OSError, ValueError) as error:
            turn.error = f"{type(error).__name__}: {error}"
            return conversation  # the rest of its turns would depend on the lost one
        last_id = max(m["id"] for m in [*turn.late, *turn.replies])
        buttons = [b for m in turn.replies for b in m.get("buttons") or []]
    return conversation


def _frame(kind: str, value: str, buttons: list[dict[str, str]]) -> tuple[dict[str, str], str]:
    """The frame for a step, and what Rasa will receive. The channel service passes on only the
    payloads the bot offered: when the wanted button is not there (the model answered otherwise),
    the first offered one is pressed, else the step's payload is typed as words."""
    if kind == "button":
        offered = [b for b in buttons if b["payload"] == value] or buttons[:1]
        if offered:
            title, payload = offered[0]["title"], offered[0]["payload"]
            return {"type": "button", "title": title, "payload": payload}, payload
        value = value.lstrip("/").replace("_", " ")
    return {"type": "message", "text": value}, value


async def _turn(
    url: str, after: int, frame: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sends one message on a fresh socket. Returns the history after `after` (empty unless
    something came late) and the messages stored after it up to and including the bot's answer
    (the person's own message first)."""
    async with connect(url, open_timeout=30, close_timeout=5) as socket:
        await socket.send(json.dumps({"type": "hello", "after": after}))
        history: list[dict[str, Any]] | None = None
        received: list[dict[str, Any]] = []
        while True:
            data = json.loads(await socket.recv())
            if data["type"] != "messages":
                continue
            if history is None:  # the first frame answers the hello
                history = data["messages"]
                await socket.send(json.dumps(frame))
                continue
            received += data["messages"]
            authors = [m["author"] for m in received]
            # The bot's replies to a turn are stored in one commit, so they arrive together.
            if "user" in authors and authors[-1] != "user":
                return history, received


@dataclass(frozen=True)
class Burst:
    """Messages of one conversation sent all at once to Rasa's REST webhook."""

    sender: str
    route: str  # "sticky" or "round-robin"
    statuses: dict[int, int]  # seq → HTTP status (0: no answer)
    seconds: float


async def burst(url: str, route: str, size: int, sticky_header: bool) -> Burst:
    """`size` messages, each marked with its seq in the metadata, sent concurrently."""
    sender = f"race-{route}-{uuid.uuid4().hex[:12]}"
    headers = {"X-Conversation-Id": sender} if sticky_header else {}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=TURN_TIMEOUT, headers=headers) as client:

        async def one(seq: int) -> tuple[int, int]:
            body = {"sender": sender, "message": f"hello {seq}", "metadata": {"seq": seq}}
            try:
                response = await client.post("/webhooks/rest/webhook", json=body)
            except httpx.HTTPError:
                return seq, 0
            return seq, response.status_code

        results = await asyncio.gather(*(one(seq) for seq in range(size)))
    return Burst(sender, route, dict(results), time.monotonic() - started)
