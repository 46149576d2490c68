"""An in-memory Rasa for the channel service's fast tests: it satisfies channels.rasa_client.RasaApi,
keeps one tracker per conversation as Rasa's REST channel and HTTP API do (a user event with the
message's metadata, then a bot event per reply), and fails the ways the real one does.

What a turn does is chosen per message with `outcomes` (consumed one a send, "answer" when empty):
- "answer": Rasa answers;
- "error": Rasa answers HTTP 500 without handling the message;
- "lost": Rasa handles the message, but its answer never comes back (a read timeout);
- "late": the request times out while Rasa is still working: the turn lands in the tracker only
  when the test calls `finish_late()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from channels.rasa_client import RasaUnavailable

Outcome = Literal["answer", "error", "lost", "late"]
Reply = dict[str, Any]
WEBHOOK = "POST /webhooks/rest/webhook"


@dataclass
class Turn:
    sender: str
    text: str
    metadata: dict[str, Any]


@dataclass
class FakeRasa:
    up: bool = True
    actions_up: bool = True
    # What the bot answers to a text; anything else gets an echo.
    answers: dict[str, list[Reply]] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    # Texts Rasa fails on every time (HTTP 500), as a message that breaks an action would.
    poison: set[str] = field(default_factory=set)
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Every message that reached Rasa, in order: a message handled twice shows here twice.
    received: list[Turn] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)
    _late: list[Turn] = field(default_factory=list)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        self._refuse_when_down(WEBHOOK)
        outcome = self.outcomes.pop(0) if self.outcomes else "answer"
        if outcome == "error" or text in self.poison:
            raise RasaUnavailable(f"{WEBHOOK}: HTTP 500")
        turn = Turn(sender, text, metadata)
        self.received.append(turn)
        if outcome == "late":
            self._late.append(turn)
            raise RasaUnavailable(f"{WEBHOOK}: ReadTimeout", may_be_processing=True)
        replies = self._record(turn)
        if outcome == "lost":
            raise RasaUnavailable(f"{WEBHOOK}: ReadTimeout", may_be_processing=True)
        return replies

    def finish_late(self) -> None:
        """Rasa finishes the turns whose requests timed out."""
        for turn in self._late:
            self._record(turn)
        self._late.clear()

    async def resume(self, sender: str) -> None:
        await self._append(sender, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])
        self.paused.discard(sender)

    async def append_user_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None:
        await self._append(sender, [{"event": "user", "text": text, "metadata": metadata}])

    async def append_bot_message(self, sender: str, text: str, metadata: dict[str, Any]) -> None:
        await self._append(sender, [{"event": "bot", "text": text, "data": {}, "metadata": metadata}])

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        self._refuse_when_down(f"GET /conversations/{sender}/tracker")
        return list(self.trackers.get(sender, []))

    async def actions_ready(self) -> bool:
        return self.actions_up

    async def is_ready(self) -> bool:
        return self.up

    def user_events(self, sender: str) -> list[dict[str, Any]]:
        return [event for event in self.trackers.get(sender, []) if event["event"] == "user"]

    def _record(self, turn: Turn) -> list[Reply]:
        replies = self.answers.get(turn.text, [{"text": f"echo: {turn.text}"}])
        events = self.trackers.setdefault(turn.sender, [])
        events.append({"event": "user", "text": turn.text, "metadata": turn.metadata})
        for reply in replies:
            data = {"buttons": reply.get("buttons"), "custom": reply.get("custom")}
            events.append({"event": "bot", "text": reply.get("text", ""), "data": data, "metadata": {}})
            if isinstance(reply.get("custom"), dict) and "handoff" in reply["custom"]:
                self.paused.add(turn.sender)  # as action_handoff pauses the conversation
        return replies

    async def _append(self, sender: str, events: list[dict[str, Any]]) -> None:
        self._refuse_when_down(f"POST /conversations/{sender}/tracker/events")
        self.trackers.setdefault(sender, []).extend(events)

    def _refuse_when_down(self, request: str) -> None:
        if not self.up:
            raise RasaUnavailable(f"{request}: ConnectError")
