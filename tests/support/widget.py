"""A person on the website widget, speaking its WebSocket protocol (channels/web/routes.py) as
widget.js does: a hello with the last message id it has (answered by the conversation's state and
its history), then messages and button presses; after a lost connection it connects again and
asks for what came after. The one widget client of the tests: a change of the protocol is made here.

What the person's screen shows is `messages` (by id, the service's stored messages, their own
included), `notices` (what the service said without storing it: its database was unreachable)
and `state` ("bot" or "handoff").
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

Message = dict[str, Any]
WAIT = 60.0  # seconds for any one answer: a missing one fails the test instead of hanging it


class WidgetClient:
    def __init__(
        self, channels_url: str, language: str = "uk", session: str | None = None, connect_now: bool = True
    ) -> None:
        self.session = session or f"test-{uuid.uuid4().hex[:12]}"
        query = f"session={self.session}&lang={language}"
        self.url = channels_url.replace("http", "ws", 1) + f"/widget/ws?{query}"
        self.shown_by_id: dict[int, Message] = {}
        self.notices: list[str] = []
        self.state = "bot"
        self._socket: ClientConnection | None = None
        if connect_now:
            self.connect()

    @property
    def conversation_id(self) -> str:
        return f"web-{self.session}"

    @property
    def socket(self) -> ClientConnection:
        """The open socket, for tests that send what no widget would."""
        assert self._socket is not None, "not connected"
        return self._socket

    @property
    def messages(self) -> list[Message]:
        """The messages on the screen, in order."""
        return [self.shown_by_id[i] for i in sorted(self.shown_by_id)]

    def shown(self, author: str | None = None) -> list[Message]:
        return [m for m in self.messages if author is None or m["author"] == author]

    def last_id(self) -> int:
        return max(self.shown_by_id, default=0)

    def connect(self, timeout: float = 30) -> None:
        """(Re)connects, retrying while the service is not there; reads the state and the
        history after the last message it has."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._socket = connect(self.url, open_timeout=5, max_size=None)
                break
            except (OSError, ConnectionClosed):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.send({"type": "hello", "after": self.last_id()})
        assert self.receive()["type"] == "state"
        assert self.receive()["type"] == "messages"

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()

    def send(self, frame: dict[str, Any]) -> None:
        self.socket.send(json.dumps(frame))

    def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next frame, which also updates the screen."""
        frame: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout))
        if frame.get("type") == "messages":
            for message in frame["messages"]:
                self.shown_by_id[message["id"]] = message
        elif frame.get("type") == "state":
            self.state = frame["state"]
        elif frame.get("type") == "notice":
            self.notices.append(frame["text"])
        return frame

    def say(self, text: str, wait: bool = True) -> list[Message]:
        """Sends a message; with `wait`, returns what the service answers to it (bot, system or
        staff messages; a turn's answers are stored at once). Without, returns nothing (while
        handed off, or when the test waits for something else)."""
        return self._send({"type": "message", "text": text}, wait)

    def press(self, title: str, payload: str | None = None, wait: bool = True) -> list[Message]:
        """Presses a button: by default the one titled `title` under the newest message that has
        it; with `payload`, any button (a modified page can send whatever it likes)."""
        if payload is None:
            payload = self._payload_of(title)
        return self._send({"type": "button", "title": title, "payload": payload}, wait)

    def hand_off(self, text: str) -> None:
        """Asks for a person with `text`; returns once the helpdesk has the conversation."""
        self.say(text, wait=False)
        self.wait_until(lambda: self.state == "handoff", what="the handoff")

    def answer(self, timeout: float = WAIT) -> list[Message]:
        """The messages of the next frame that has any not written by the person."""
        while True:
            frame = self.receive(timeout)
            if frame["type"] == "messages":
                answers = [m for m in frame["messages"] if m["author"] != "user"]
                if answers:
                    return answers

    def wait_until(
        self, condition: Callable[[], object], timeout: float = WAIT, what: str = "the answer"
    ) -> None:
        """Reads frames until `condition()` holds; a closed connection is opened again."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                texts = [(m["author"], m["text"][:60]) for m in self.messages]
                raise AssertionError(f"timed out waiting for {what}; state {self.state}, on screen {texts}")
            try:
                self.receive(timeout=min(left, 1.0))
            except TimeoutError:
                continue
            except ConnectionClosed:
                self.connect(timeout=max(left, 1.0))

    def wait_for_message(self, author: str, after: int = 0, timeout: float = WAIT) -> Message:
        """The first message of `author` with an id above `after`, once it is shown."""

        def found() -> Message | None:
            return next((m for m in self.messages if m["author"] == author and m["id"] > after), None)

        self.wait_until(lambda: found() is not None, timeout, f"a message of {author}")
        message = found()
        assert message is not None
        return message

    def _send(self, frame: dict[str, Any], wait: bool) -> list[Message]:
        after = self.last_id()
        self.send(frame)
        if not wait:
            return []

        def answers() -> list[Message]:
            return [m for m in self.messages if m["author"] != "user" and m["id"] > after]

        self.wait_until(lambda: answers(), what=f"an answer to {frame}")
        return answers()

    def _payload_of(self, title: str) -> str:
        for message in reversed(self.messages):
            for button in message.get("buttons") or []:
                if button["title"] == title:
                    return str(button["payload"])
        raise AssertionError(f"no button {title!r} on the screen")
