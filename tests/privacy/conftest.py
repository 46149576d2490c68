"""Fixtures of the personal-data tests: the whole stack on its own ports and databases, every
service logging at debug level (where Rasa prints user texts and slot values), and a person in
the website widget."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from websockets.sync.client import connect

from devstack.project import Databases, Ports, Stack, running_stack

PORTS = Ports(rasa=5505, actions=5555, backend=8501, channels=8500)
DEBUG_LOGS = {"LOG_LEVEL": "DEBUG", "BACKEND_LOG_LEVEL": "debug", "CHANNELS_LOG_LEVEL": "debug"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    databases = Databases.isolated(tmp_path_factory.mktemp("databases"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in DEBUG_LOGS.items():
            env.setenv(name, value)
        # A long start-up timeout: the machine is shared by two cores; Rasa alone loads for a minute.
        with running_stack(PORTS, timeout=420, databases=databases) as stack:
            yield stack


class WidgetUser:
    """A person in the website widget, over its WebSocket (protocol: channels/web/routes.py)."""

    def __init__(self, channels_url: str, language: str) -> None:
        session = f"privacy-{uuid.uuid4().hex[:12]}"
        self.conversation_id = f"web-{session}"
        url = channels_url.replace("http", "ws", 1) + f"/widget/ws?session={session}&lang={language}"
        self.socket = connect(url, open_timeout=10)
        self.socket.send(json.dumps({"type": "hello", "after": 0}))
        self.messages: list[dict] = []
        self.state = "bot"

    def say(self, text: str, timeout: float = 60) -> list[dict]:
        """Sends `text`; returns the bot's answer (nothing while handed off)."""
        return self._send({"type": "message", "text": text}, timeout)

    def press(self, title: str, payload: str, timeout: float = 60) -> list[dict]:
        return self._send({"type": "button", "title": title, "payload": payload}, timeout)

    def hand_off(self, text: str) -> None:
        self.socket.send(json.dumps({"type": "message", "text": text}))
        self.wait_for(lambda: self.state == "handoff")

    def write_to_helpdesk(self, text: str) -> None:
        after = self.last_id()
        self.socket.send(json.dumps({"type": "message", "text": text}))
        self.wait_for(lambda: any(m["author"] == "user" and m["id"] > after for m in self.messages))

    def wait_for(self, wanted: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not wanted():
            left = deadline - time.monotonic()
            try:
                frame = json.loads(self.socket.recv(timeout=max(left, 0)))
            except TimeoutError:
                pytest.fail(f"widget: not seen in {timeout} s; got {self.messages[-3:]}")
            if frame["type"] == "messages":
                self.messages.extend(frame["messages"])
            elif frame["type"] == "state":
                self.state = frame["state"]

    def last_id(self) -> int:
        return max((m["id"] for m in self.messages), default=0)

    def close(self) -> None:
        self.socket.close()

    def _send(self, frame: dict, timeout: float) -> list[dict]:
        after = self.last_id()
        self.socket.send(json.dumps(frame))
        # The bot's answer to one message is stored at once, so it arrives in one frame.
        self.wait_for(lambda: any(m["author"] != "user" and m["id"] > after for m in self.messages), timeout)
        return [m for m in self.messages if m["author"] != "user" and m["id"] > after]


@pytest.fixture
def widget_user(stack) -> Iterator[Callable[[str], WidgetUser]]:
    users: list[WidgetUser] = []

    def open_widget(language: str = "uk") -> WidgetUser:
        users.append(WidgetUser(stack.ports.channels_url, language))
        return users[-1]

    yield open_widget
    for user in users:
        user.close()
