"""What a simulated person says: a realistic conversation in a random language.

The texts are real held-out messages (tests/nlu/heldout_*.yml, clean and messy, never seen in
training); the buttons are the ones the bot's last replies offered. One conversation:

  greeting (typed) → a task (its button from the greeting's menu, or typed) → one to three
  walkthrough steps ("Next" pressed) → an FAQ question (typed) → "Continue" pressed → one or two
  more steps → thanks or goodbye (typed)

so about eight messages, a third of them buttons. A person whose conversation was handed to the
helpdesk stops there (the bot stays silent while a person handles it).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from common.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu"
TASKS = ("get_pesel", "get_trusted_profile", "ikp_login", "forgot_username", "forgot_password")
# [text](entity) or [text]{"entity": …}: the annotation is not part of what a person types.
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass
class Reply:
    """What the bot answered to one message: its texts and the buttons offered."""

    texts: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    handoff: bool = False
    # The channel service answered instead of the bot (e.g. "the assistant is unavailable").
    notice: bool = False


@dataclass(frozen=True)
class Move:
    """One message of the person: typed text, or a pressed button (title shown, payload sent)."""

    text: str
    payload: str | None = None


@cache
def corpus() -> dict[tuple[str, str], list[str]]:
    """Held-out messages by (language, intent); FAQ questions under the intent "faq"."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for language in LANGUAGES:
        data = yaml.safe_load((HELDOUT / f"heldout_{language}.yml").read_text(encoding="utf-8"))
        for block in data["nlu"]:
            intent = block["intent"].split("/")[0]
            for example in block["examples"]:
                text = ANNOTATION.sub(r"\1", example["text"]).strip()
                found[(language, intent)].append(text)
    return dict(found)


def rest_reply(messages: list[dict]) -> Reply:
    """What Rasa's REST channel answered (POST /webhooks/rest/webhook), as a Reply."""
    reply = Reply()
    for message in messages:
        if message.get("text"):
            reply.texts.append(message["text"])
        reply.buttons += [Button(b["title"], b["payload"]) for b in message.get("buttons") or []]
        custom = message.get("custom")
        reply.handoff |= isinstance(custom, dict) and "handoff" in custom
    return reply


def say(rng: random.Random, language: str, intent: str) -> Move:
    return Move(rng.choice(corpus()[(language, intent)]))


def press(reply: Reply, rng: random.Random, language: str, payloads: tuple[str, ...]) -> Move:
    """The first offered button with one of these payloads; else a typed "yes"."""
    for payload in payloads:
        for button in reply.buttons:
            if button.payload == payload:
                return Move(button.title, button.payload)
    return say(rng, language, "affirm")


def conversation(rng: random.Random, language: str) -> Iterator[Move]:
    """The person's moves; send() each move's reply back into the generator."""
    reply: Reply = yield say(rng, language, "greet")
    task = rng.choice(TASKS)
    if rng.random() < 0.5:
        reply = yield press(reply, rng, language, (f"/{task}",))
    else:
        reply = yield say(rng, language, task)
    for _ in range(rng.randint(1, 3)):
        reply = yield press(reply, rng, language, ("/affirm",))
    reply = yield say(rng, language, "faq")
    reply = yield press(reply, rng, language, ("/affirm",))
    for _ in range(rng.randint(1, 2)):
        reply = yield press(reply, rng, language, ("/affirm",))
    yield say(rng, language, rng.choice(("thank", "goodbye")))
