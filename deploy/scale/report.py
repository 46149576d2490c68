"""The scale test's verdict: the trackers and the channel service's messages read back from
PostgreSQL, nginx's routing log, and the report printed at the end."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from deploy.scale import topology
from deploy.scale.audit import Event, Findings, check_burst, check_conversation, reduce_event, routing, served
from deploy.scale.topology import Databases, Layout
from deploy.scale.traffic import Burst, Conversation

WEBHOOK = ("POST", "/webhooks/rest/webhook")
RASA_POOL = "rasa (sticky; with the race check's)"


@dataclass(frozen=True)
class Outcome:
    conversations: list[Conversation]
    seconds: float
    bursts: list[Burst]
    databases: Databases
    nginx_log: Path
    cpu: dict[str, float]  # CPU seconds each process spent on the conversations
    layout: Layout


@dataclass
class Verdict:
    findings: Findings
    failed_turns: list[str]
    stored: dict[str, int]  # messages in the channel service's database by author
    spread: dict[str, dict[str, int]]  # pool → instance → requests
    unsticky: int  # conversations whose Rasa requests reached more than one server
    races: dict[str, Findings]
    refused: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def judge(outcome: Outcome) -> Verdict:
    trackers = _trackers(outcome.databases.rasa, [c.id for c in outcome.conversations])
    findings, failed = Findings(), []
    for conversation in outcome.conversations:
        sent = [turn.sent for turn in conversation.turns]
        received = _received(conversation)
        findings.add(check_conversation(trackers.get(conversation.id, []), sent, received))
        failed += [f"{conversation.id}: {t.error}" for t in conversation.turns if t.error]
        failed += [
            f"{conversation.id}: the service answered instead of the bot ({m['text'][:60]!r})"
            for t in conversation.turns
            for m in t.replies
            if m["author"] == "system"
        ]
    log = routing(outcome.nginx_log)
    verdict = Verdict(
        findings=findings,
        failed_turns=failed,
        stored=_stored(outcome.databases.channels, [c.id for c in outcome.conversations]),
        spread={
            "channels": served(log[outcome.layout.entry], "GET", "/widget/ws"),
            RASA_POOL: served(log[outcome.layout.rasa_sticky], *WEBHOOK),
            "actions": served(log[outcome.layout.actions], "POST", "/webhook"),
            "rasa (round robin, race check)": served(log[outcome.layout.rasa_round_robin], *WEBHOOK),
        },
        unsticky=sum(
            1 for found in log[outcome.layout.rasa_sticky]["instances_of"].values() if len(found) > 1
        ),
        races=_races(outcome),
        refused=_refused(outcome.bursts),
    )
    verdict.problems = _problems(outcome, verdict)
    return verdict


def _received(conversation: Conversation) -> list[list[str]]:
    """The bot's texts for each turn: its replies, and what came late (in the next turn's history)."""
    turns = conversation.turns
    found = []
    for number, turn in enumerate(turns):
        late = turns[number + 1].late if number + 1 < len(turns) else []
        found.append([m["text"] for m in [*turn.replies, *late] if m["author"] != "user"])
    return found


def _races(outcome: Outcome) -> dict[str, Findings]:
    trackers = _trackers(outcome.databases.rasa, [b.sender for b in outcome.bursts])
    found: dict[str, Findings] = defaultdict(Findings)
    for each in outcome.bursts:
        found[each.route].add(check_burst(trackers.get(each.sender, []), each.statuses))
    return dict(found)


def _refused(bursts: list[Burst]) -> dict[str, int]:
    refused: dict[str, int] = defaultdict(int)
    for each in bursts:
        refused[each.route] += sum(1 for status in each.statuses.values() if status != 200)
    return dict(refused)


def _problems(outcome: Outcome, verdict: Verdict) -> list[str]:
    problems = []
    turns = sum(len(c.turns) for c in outcome.conversations)
    late = _late(outcome)
    replies = _replies(outcome) + late  # every message stored was received, on time or late
    if not verdict.findings.clean:
        problems.append("trackers incomplete, duplicated or out of order")
    if verdict.failed_turns:
        problems.append(f"{len(verdict.failed_turns)} turns failed")
    if late:
        problems.append(f"{late} messages arrived after their turn had been answered")
    if verdict.stored.get("user", 0) != turns or sum(verdict.stored.values()) != turns + replies:
        problems.append(
            f"the channel service stored {verdict.stored}, the people sent {turns} and got {replies}"
        )
    for pool in ("channels", RASA_POOL, "actions"):
        if len(verdict.spread[pool]) < 2:
            problems.append(f"{pool}: not spread over both instances ({verdict.spread[pool]})")
    if verdict.unsticky:
        problems.append(
            f"{verdict.unsticky} conversations reached more than one Rasa server on the sticky route"
        )
    sticky = verdict.races.get("sticky", Findings())
    if not sticky.clean or verdict.refused.get("sticky"):
        problems.append("a burst on the sticky route lost, duplicated or interleaved messages")
    return problems


def _replies(outcome: Outcome) -> int:
    return sum(1 for c in outcome.conversations for t in c.turns for m in t.replies if m["author"] != "user")


def _late(outcome: Outcome) -> int:
    return sum(len(t.late) for c in outcome.conversations for t in c.turns)


def _trackers(database: topology.Postgres, senders: list[str]) -> dict[str, list[Event]]:
    query = "SELECT sender_id, type_name, action_name, data FROM events WHERE sender_id = ANY(%s) ORDER BY id"
    found: dict[str, list[Event]] = defaultdict(list)
    with psycopg.connect(database.libpq) as connection:
        for sender, type_name, action_name, data in connection.execute(query, (senders,)):
            event = reduce_event(type_name, action_name, data)
            if event is not None:
                found[sender].append(event)
    return found


def _stored(database: topology.Postgres, conversation_ids: list[str]) -> dict[str, int]:
    query = "SELECT author, count(*) FROM messages WHERE conversation_id = ANY(%s) GROUP BY author"
    with psycopg.connect(database.libpq) as connection:
        return dict(connection.execute(query, (conversation_ids,)).fetchall())


def render(outcome: Outcome, verdict: Verdict) -> str:
    conversations = outcome.conversations
    turns = sum(len(c.turns) for c in conversations)
    replies = _replies(outcome)
    languages = sorted({c.language for c in conversations})
    f = verdict.findings
    lines = [
        "",
        f"Scale test: {len(conversations)} conversations ({', '.join(languages)}), {turns} user messages, "
        f"{replies} bot messages, {f.events} tracker events; {outcome.seconds:.1f} s "
        f"({turns / outcome.seconds:.1f} user messages/s through 2 Rasa servers)",
        f"  lost {f.lost}, duplicated {f.duplicated}, out of order {f.out_of_order}, "
        f"broken turns {f.broken_turns}, replies differing from the tracker {f.reply_mismatches}, "
        f"failed turns {len(verdict.failed_turns)}, late messages {_late(outcome)}",
        f"  channel service's messages: {dict(sorted(verdict.stored.items()))}",
        "  served by:",
        *[f"    {pool:38} {_instances(counts)}" for pool, counts in verdict.spread.items()],
        f"  sticky route: conversations on more than one Rasa server: {verdict.unsticky}",
        f"  CPU seconds per user message: {_cpu_per_message(outcome.cpu, turns)}",
        "",
        f"Race check (RasaHQ/rasa#9213): {len(outcome.bursts) // 2} bursts per route, each of "
        f"{_burst_size(outcome)} messages of one conversation sent at once",
        *[_race_line(route, verdict) for route in ("round-robin", "sticky")],
        "",
        *[f"  failed: {line}" for line in verdict.failed_turns[:10]],
        *[f"  detail: {line}" for line in f.details[:10]],
        "PASS" if verdict.passed else "FAIL: " + "; ".join(verdict.problems),
    ]
    return "\n".join(lines)


def _cpu_per_message(cpu: dict[str, float], turns: int) -> str:
    """Per pool (rasa-1 and rasa-2 together, …): what one message costs each kind of service."""
    pools: dict[str, float] = defaultdict(float)
    for name, seconds in cpu.items():
        pools[name.rsplit("-", 1)[0] if name[-1].isdigit() else name] += seconds
    return ", ".join(f"{pool} {seconds / max(turns, 1):.3f}" for pool, seconds in sorted(pools.items()))


def _burst_size(outcome: Outcome) -> int:
    return len(outcome.bursts[0].statuses) if outcome.bursts else 0


def _instances(counts: dict[str, Any]) -> str:
    return ", ".join(f"{instance} {n}" for instance, n in counts.items()) or "none"


def _race_line(route: str, verdict: Verdict) -> str:
    found = verdict.races.get(route, Findings())
    refused = verdict.refused.get(route, 0)
    line = (
        f"  {route:12} refused (HTTP error) {refused}, accepted but lost {found.lost}, "
        f"duplicated {found.duplicated}, broken turns {found.broken_turns} "
        f"({found.user_messages} user messages in the trackers)"
    )
    if route == "round-robin" and found.clean and not refused:
        # Not a failure: the race needs both servers inside the same few milliseconds.
        line += "; the race did not show this time"
    return line
