"""What the scale test checks afterwards, from what was stored: each conversation's tracker in
Rasa's PostgreSQL tracker store against what the person sent and was answered, and nginx's log of
which instance served what.

A tracker is complete and in order when every user message is there exactly once, in the order
sent, and each is one whole turn: the bot listened before it (action_listen), answered with what
the person received, and listened again before the next user message. Two servers working on one
conversation at once (RasaHQ/rasa#9213) show up here as lost or duplicated user messages (Rasa's
SQL tracker store saves "the events past the number already stored", so concurrent saves drop or
repeat events) or as turns cut into each other.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.pii import for_analytics as mask

# A tracker event reduced to what the checks need: ("user", text, metadata), ("bot", text, {}),
# ("action", name, {}). Slots, session starts and featurizations are left out.
Event = tuple[str, str, dict[str, Any]]
PARAGRAPH = "\n\n"  # Rasa's REST channel sends a text's paragraphs as messages of their own


def reduce_event(type_name: str, action_name: str | None, data: str | dict[str, Any]) -> Event | None:
    """One row of Rasa's `events` table (type_name, action_name, data JSON) as an Event."""
    if type_name == "action":
        return ("action", action_name or "", {})
    body = json.loads(data) if isinstance(data, str) else data
    if type_name == "user":
        return ("user", body.get("text") or "", body.get("metadata") or {})
    if type_name == "bot":
        return ("bot", body.get("text") or "", {})
    return None


@dataclass
class Findings:
    user_messages: int = 0
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    broken_turns: int = 0  # a user message not between two listens, or answered by nothing
    reply_mismatches: int = 0  # the bot's events of a turn differ from what the person got
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost or self.duplicated or self.out_of_order or self.broken_turns or self.reply_mismatches
        )

    def add(self, other: Findings) -> None:
        for name in (
            "user_messages",
            "events",
            "lost",
            "duplicated",
            "out_of_order",
            "broken_turns",
            "reply_mismatches",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.details += other.details


def turns(events: list[Event]) -> list[list[Event]]:
    """The events from each user message up to the next one (the user message first)."""
    found: list[list[Event]] = []
    for event in events:
        if event[0] == "user":
            found.append([event])
        elif found:
            found[-1].append(event)
    return found


def broken_turns(events: list[Event]) -> int:
    """User messages that are not a whole turn: listened for, answered, listened for again."""
    broken = 0
    last_action: str | None = None
    for index, event in enumerate(events):
        if event[0] == "action":
            last_action = event[1]
        elif event[0] == "user":
            rest = _until_next_user(events, index + 1)
            actions = [e[1] for e in rest if e[0] == "action"]
            answered = any(e[0] == "bot" for e in rest)
            if last_action != "action_listen" or not answered or actions[-1:] != ["action_listen"]:
                broken += 1
            last_action = None  # a user message right after this one was not listened for

    return broken


def _until_next_user(events: list[Event], start: int) -> list[Event]:
    end = next((i for i in range(start, len(events)) if events[i][0] == "user"), len(events))
    return events[start:end]


def check_conversation(events: list[Event], sent: list[str], received: list[list[str]]) -> Findings:
    """A conversation's tracker against the texts sent (in order) and the bot's texts received
    for each of them."""
    # The tracker store masks PESEL, e-mail and phone numbers as it saves (bot/masking_tracker_store.py):
    # what was sent and received is compared masked alike.
    sent = [mask(text) for text in sent]
    users = [e[1] for e in events if e[0] == "user"]
    findings = Findings(user_messages=len(users), events=len(events))
    expected, actual = Counter(sent), Counter(users)
    findings.lost = sum((expected - actual).values())
    findings.duplicated = sum((actual - expected).values())
    if not findings.lost and not findings.duplicated and users != sent:
        findings.out_of_order = sum(1 for a, b in zip(users, sent, strict=True) if a != b)
    findings.broken_turns = broken_turns(events)
    if users == sent:
        for number, (turn, texts) in enumerate(zip(turns(events), received, strict=True), start=1):
            said = PARAGRAPH.join(e[1] for e in turn if e[0] == "bot" and e[1])
            if said != mask(PARAGRAPH.join(texts)):
                findings.reply_mismatches += 1
                findings.details.append(f"turn {number}: tracker and person differ")
    return findings


def check_burst(events: list[Event], statuses: dict[int, int]) -> Findings:
    """A burst's tracker: each message Rasa accepted (HTTP 200) exactly once, each a whole turn.
    The messages were sent at once, so their order is not checked."""
    seqs = [e[2].get("seq") for e in events if e[0] == "user"]
    accepted = {seq for seq, status in statuses.items() if status == 200}
    counts = Counter(seqs)
    findings = Findings(user_messages=len(seqs), events=len(events))
    findings.lost = len(accepted - set(counts))
    findings.duplicated = sum(n - 1 for n in counts.values() if n > 1)
    findings.broken_turns = broken_turns(events)
    return findings


def routing(log: Path) -> dict[int, dict[str, Any]]:
    """nginx's JSON access log: per listening port, requests per upstream instance and per
    conversation (for Rasa's sticky route)."""
    per_port: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"by_instance": Counter(), "instances_of": defaultdict(set), "errors": 0}
    )
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        stats = per_port[int(entry["port"])]
        stats["by_instance"][(entry["method"], entry["uri"], entry["upstream"])] += 1
        if entry["conversation"]:
            stats["instances_of"][entry["conversation"]].add(entry["upstream"])
        if not entry["status"].startswith(("1", "2")):
            stats["errors"] += 1
    return per_port


def served(stats: dict[str, Any], method: str, uri: str) -> dict[str, int]:
    """Requests `method uri` per instance."""
    return {
        upstream: n for (m, u, upstream), n in sorted(stats["by_instance"].items()) if (m, u) == (method, uri)
    }
