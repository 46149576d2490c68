"""Reply time over one long conversation: does a message cost more at turn 300 than at turn 10?

One person talks to Rasa's REST channel for `turns` messages in one session: conversation after
conversation of bench/conversations.py (greeting, a task, walkthrough steps, an FAQ question,
back to the guide, thanks), with held-out texts and the buttons the bot offered, from a fixed
seed. A handoff is handed back at once, as the console does (Rasa's HTTP API: resume), so the
conversation goes on. Each message's reply time is measured, and the CPU time the Rasa server
(and the action server) spent on it, read from /proc before and after (10 ms ticks: only sums
over many messages mean something).

  .venv/bin/python -m bench.turns [--turns 300] [--language uk]   # starts its own stack
  .venv/bin/python -m bench.turns --url http://127.0.0.1:5005      # a running Rasa server

For the benchmark: `turn_latency(url, turns)` returns [(turn, seconds)]; `turn_costs(...)` also
the CPU per turn.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.conversations import Move, Reply, conversation, rest_reply
from bench.memory import listener
from devstack import Databases, Ports, running_stack
from devstack.project import RASA_TOKEN

BUCKET = 20  # turns per line of the table
TIMEOUT = 60.0


@dataclass(frozen=True)
class TurnCost:
    turn: int  # 1 for the first message
    seconds: float  # from sending the message until Rasa's reply arrived
    cpu: Mapping[str, float]  # CPU seconds each watched process spent meanwhile


def moves(rng: random.Random, language: str) -> Iterator[Move]:
    """The person's messages, conversation after conversation; send() each reply back."""
    while True:
        talk = conversation(rng, language)
        reply: Reply | None = None
        try:
            move = next(talk)
            while True:
                reply = yield move
                move = talk.send(reply)
        except StopIteration:
            continue


def turn_costs(
    url: str,
    turns: int,
    pids: Mapping[str, int] | None = None,
    language: str = "uk",
    seed: int = 0,
) -> list[TurnCost]:
    """`turns` messages of one new conversation on the Rasa server at `url`; `pids`: processes
    (by name) whose CPU time is read around each message."""
    rng = random.Random(seed)
    sender = f"turns-{uuid.uuid4().hex[:12]}"
    processes = {name: psutil.Process(pid) for name, pid in (pids or {}).items()}
    person = moves(rng, language)
    move = next(person)
    found = []
    params = {"token": RASA_TOKEN} if RASA_TOKEN else None
    with httpx.Client(base_url=url, timeout=TIMEOUT, params=params) as client:
        for turn in range(1, turns + 1):
            before = _cpu(processes)
            started = time.perf_counter()
            reply = _send(client, sender, language, move)
            seconds = time.perf_counter() - started
            after = _cpu(processes)
            found.append(TurnCost(turn, seconds, {name: after[name] - before[name] for name in after}))
            if reply.handoff:
                _hand_back(client, sender)
            move = person.send(reply)
    return found


def turn_latency(url: str, turns: int) -> list[tuple[int, float]]:
    """(turn, reply seconds) for each of `turns` messages of one conversation on `url`."""
    return [(cost.turn, cost.seconds) for cost in turn_costs(url, turns)]


def _send(client: httpx.Client, sender: str, language: str, move: Move) -> Reply:
    body = {"sender": sender, "message": move.payload or move.text, "metadata": {"language": language}}
    response = client.post("/webhooks/rest/webhook", json=body)
    response.raise_for_status()
    return rest_reply(response.json())


def _hand_back(client: httpx.Client, sender: str) -> None:
    """What the console's "hand back" sends (channels/rasa_client.py, resume)."""
    events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    client.post(f"/conversations/{sender}/tracker/events", json=events).raise_for_status()


def _cpu(processes: Mapping[str, psutil.Process]) -> dict[str, float]:
    found = {}
    for name, process in processes.items():
        times = process.cpu_times()
        found[name] = times.user + times.system
    return found


def table(costs: Sequence[TurnCost], bucket: int = BUCKET) -> str:
    """Median and 90th percentile reply time and CPU per message, by bucket of turns."""
    names = sorted({name for cost in costs for name in cost.cpu})
    header = f"{'turns':>9}  {'median ms':>9}  {'p90 ms':>7}" + "".join(
        f"  {n + ' CPU ms':>15}" for n in names
    )
    lines = [header]
    for start in range(0, len(costs), bucket):
        part = costs[start : start + bucket]
        seconds = sorted(cost.seconds for cost in part)
        line = (
            f"{part[0].turn:>4}-{part[-1].turn:<4}  {statistics.median(seconds) * 1000:>9.1f}  "
            f"{seconds[int(0.9 * (len(seconds) - 1))] * 1000:>7.1f}"
        )
        for name in names:
            line += f"  {sum(cost.cpu[name] for cost in part) / len(part) * 1000:>15.1f}"
        lines.append(line)
    return "\n".join(lines)


def ratio(costs: Sequence[TurnCost], early: int = 10, late: int = 300, window: int = 10) -> float:
    """Median reply time of the `window` turns ending at `late` over those ending at `early`."""

    def median_at(turn: int) -> float:
        return statistics.median(c.seconds for c in costs if turn - window < c.turn <= turn)

    return median_at(min(late, len(costs))) / median_at(early)


def _processes(ports: Mapping[str, int]) -> dict[str, int]:
    return {name: listener(port).pid for name, port in ports.items()}


def _report(costs: Sequence[TurnCost]) -> None:
    print(table(costs))
    print(f"median reply, last 10 turns / turns 1-10: {ratio(costs, late=len(costs)):.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--language", default="uk")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="a running Rasa server (default: start the stack on free ports)")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed turns of another conversation first")
    args = parser.parse_args(argv)
    if args.url:
        port = httpx.URL(args.url).port or 80
        pids = _processes({"rasa": port})
        turn_costs(args.url, args.warm_up, language=args.language, seed=args.seed + 1)
        _report(turn_costs(args.url, args.turns, pids, args.language, args.seed))
        return 0
    with tempfile.TemporaryDirectory(prefix="turns-") as tmp:
        databases = Databases.isolated(Path(tmp))
        with running_stack(Ports.free(), 600, databases, only=("backend", "actions", "rasa")) as stack:
            ports = stack.ports
            pids = _processes({"rasa": ports.rasa, "actions": ports.actions})
            # Untimed: a server's first messages cost what no later conversation meets again.
            turn_costs(ports.rasa_url, args.warm_up, language=args.language, seed=args.seed + 1)
            _report(turn_costs(ports.rasa_url, args.turns, pids, args.language, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
