"""A person on the website widget, speaking its WebSocket protocol (channels/web/routes.py) as
widget.js does: a hello with the last message id it has, then messages and button presses; after
a lost connection it connects again and asks for what came after."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class WidgetPerson:
    def __init__(self, channels_url: str, language: str) -> None:
        self.session = f"faults-{uuid.uuid4().hex[:12]}"
        self.url = (
            channels_url.replace("http://", "ws://") + f"/widget/ws?session={self.session}&lang={language}"
        )
        self.messages: dict[int, dict[str, Any]] = {}  # by id: what the person's screen shows
        self._socket: ClientConnection | None = None

    @property
    def conversation_id(self) -> str:
        return f"web-{self.session}"

    def connect(self, timeout: float = 30) -> None:
        """(Re)connects, retrying while the service is not there; asks for what it has not seen."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._socket = connect(self.url, open_timeout=5)
                break
            except (OSError, ConnectionClosed):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self._socket.send(json.dumps({"type": "hello", "after": max(self.messages, default=0)}))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()

    def say(self, text: str) -> None:
        self._send({"type": "message", "text": text})

    def press(self, title: str) -> None:
        """Presses the button titled `title` under the newest message that has it."""
        for message in sorted(self.messages.values(), key=lambda m: -m["id"]):
            for button in message["buttons"]:
                if button["title"] == title:
                    self._send({"type": "button", "title": title, "payload": button["payload"]})
                    return
        raise AssertionError(f"no button {title!r} on the screen")

    def shown(self, author: str | None = None) -> list[dict[str, Any]]:
        """The messages on the screen in order (of one author)."""
        ordered = [self.messages[i] for i in sorted(self.messages)]
        return [m for m in ordered if author is None or m["author"] == author]

    def wait_until(self, condition: Any, timeout: float = 60, what: str = "the answer") -> None:
        """Reads frames until `condition(self)` holds; a closed connection is opened again."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            left = deadline - time.monotonic()
            if left <= 0:
                texts = [(m["author"], m["text"][:60]) for m in self.shown()]
                raise AssertionError(f"timed out waiting for {what}; the screen shows {texts}")
            try:
                frame = json.loads(self._socket.recv(timeout=min(left, 1.0)))
            except TimeoutError:
                continue
            except ConnectionClosed:
                self.connect(timeout=max(left, 1.0))
                continue
            self._read(frame)

    def _send(self, frame: dict[str, Any]) -> None:
        assert self._socket is not None
        self._socket.send(json.dumps(frame))

    def _read(self, frame: dict[str, Any]) -> None:
        if frame.get("type") != "messages":
            return
        for message in frame["messages"]:
            self.messages[message["id"]] = message
