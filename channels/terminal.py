"""A terminal chat with the bot over Rasa's REST channel (until the real channels exist).

Buttons are numbered: type the number to press one.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx

from channels.intake import clean, is_command
from channels.texts import notice

PROMPT = "you> "


def send(
    client: httpx.Client, rasa_url: str, sender: str, text: str, language: str | None
) -> list[dict[str, Any]]:
    payload = {"sender": sender, "message": text, "metadata": {"language": language} if language else {}}
    response = client.post(f"{rasa_url}/webhooks/rest/webhook", json=payload, timeout=30)
    response.raise_for_status()
    replies: list[dict[str, Any]] = response.json()
    return replies


def render(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Print the bot's messages; return the buttons of the last one that has any."""
    buttons: list[dict[str, Any]] = []
    for message in messages:
        if message.get("text"):
            print(f"bot> {message['text']}\n")
        if message.get("buttons"):
            buttons = message["buttons"]
            for number, button in enumerate(buttons, 1):
                print(f"  [{number}] {button['title']}")
            print()
    return buttons


def chat(rasa_url: str, language: str | None = None) -> None:
    language = language or os.environ.get("LANG", "uk")[:2]
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print("Write to the bot in Ukrainian, Polish, English or Russian; Ctrl-D to quit.\n")
    buttons: list[dict[str, Any]] = []
    with httpx.Client() as client:
        while True:
            try:
                text = clean(input(PROMPT))
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if not text:
                continue
            if is_command(text):
                # As on every channel: only a button's payload reaches Rasa as an intent.
                print(f"bot> {notice('command_typed', language)}\n")
                continue
            if text.isdigit() and 1 <= int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            buttons = render(send(client, rasa_url, sender, text, language)) or buttons
