"""Messages the bot has not answered yet, kept until it can: while Rasa or the action server is
down or restarting, and across a restart of this service, each answered once and in order.

A person's message is stored waiting for the bot (no delivery time) and is marked answered in the
same commit that stores the bot's replies, so a crash in between cannot leave it answered twice or
not at all. Every message goes to Rasa with its id in the metadata (`MESSAGE_ID`), which Rasa keeps
on the user event of its tracker. Whenever a message is tried again (after an error, a timeout or
a restart of this service), the tracker is read first: a message Rasa already handled is not sent
twice, and its replies are read back from the bot events that follow it.

What Rasa is to get (the raw text, or a button's payload) stays in this process's memory only: the
database keeps the user's text masked, and personal data must not reach it unmasked. So a message
that never reached Rasa and was cut off by a restart of this service cannot be sent again; the
person is asked to send it again instead.

Each instance of the service answers the messages it took itself; a waiting message that no
instance has in memory is an orphan (its instance crashed) once it is older than any turn can
last (ORPHANED_AFTER, from Rasa's timeout), and then any instance takes it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from channels.models import Message, utc_now

# The key of the channel service's message id in the metadata of Rasa's user events.
MESSAGE_ID = "channel_message_id"
# Tries of one message while Rasa says it is ready: a message that fails this often (Rasa answers
# it with an error every time) is given up, so that it does not hold up the person's next ones.
MAX_TRIES = 3
# A waiting message that this process does not know is another instance's turn in progress for
# this long (a turn lasts at most Rasa's timeout), and an orphan after it: its instance crashed.
ORPHANED_AFTER = 65.0


@dataclass
class Pending:
    """What this process knows of the messages that wait for the bot."""

    orphaned_after: float = ORPHANED_AFTER
    _inputs: dict[int, str] = field(default_factory=dict)  # message id → what Rasa is to get
    _sent: set[int] = field(default_factory=set)  # sent to Rasa: the tracker is read before a resend
    # Timed out: Rasa may still be answering. Never sent again; answered from the tracker, or
    # given up after MAX_TRIES rounds (the person is told to try again).
    _unsure: set[int] = field(default_factory=set)
    _failures: dict[int, int] = field(default_factory=dict)  # message id → failed tries, Rasa ready

    def keep(self, message_id: int, rasa_input: str) -> None:
        self._inputs[message_id] = rasa_input

    def input_of(self, message_id: int) -> str | None:
        """What Rasa is to get for the message; None when this process never had it (a restart)."""
        return self._inputs.get(message_id)

    def mark_sent(self, message_id: int) -> None:
        self._sent.add(message_id)

    def was_sent(self, message_id: int) -> bool:
        """Sent to Rasa before: its tracker is read before the message could go again."""
        return message_id in self._sent

    def mark_unsure(self, message_id: int) -> None:
        self._unsure.add(message_id)

    def is_unsure(self, message_id: int) -> bool:
        """Timed out while Rasa may still be answering it."""
        return message_id in self._unsure

    def ours_or_orphaned(self, message: Message) -> bool:
        """Whether this process is to answer the message: it took it, or nobody has for long."""
        age = (utc_now() - message.created_at).total_seconds()
        return message.id in self._inputs or age > self.orphaned_after

    def count_failure(self, message_id: int) -> int:
        self._failures[message_id] = self._failures.get(message_id, 0) + 1
        return self._failures[message_id]

    def forget(self, message_id: int) -> None:
        self._inputs.pop(message_id, None)
        self._sent.discard(message_id)
        self._unsure.discard(message_id)
        self._failures.pop(message_id, None)


def replies_in_tracker(events: list[dict[str, Any]], message_id: int) -> list[dict[str, Any]] | None:
    """The bot's replies to the message, as Rasa's REST channel would have sent them; None when
    the tracker has no user event with this message id (Rasa never got it)."""
    start = next(
        (
            index
            for index, event in enumerate(events)
            if event.get("event") == "user" and (event.get("metadata") or {}).get(MESSAGE_ID) == message_id
        ),
        None,
    )
    if start is None:
        return None
    replies: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            replies += _as_rest_replies(event)
    return replies


def _as_rest_replies(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A bot event as the REST channel's messages: a text without buttons is sent a paragraph a
    message (rasa.core.channels.channel.CollectingOutputChannel), a custom payload on its own."""
    data = event.get("data") or {}
    text, buttons, custom = event.get("text") or "", data.get("buttons"), data.get("custom")
    replies: list[dict[str, Any]] = []
    if text and buttons:
        replies.append({"text": text, "buttons": buttons})
    elif text:
        replies += [{"text": part} for part in text.strip().split("\n\n")]
    if custom:
        replies.append({"custom": custom})
    return replies
