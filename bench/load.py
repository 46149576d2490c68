"""One load step: Locust, headless, in a process of its own, for a bounded time; its figures.

Users start over a few seconds (not all in the same instant) and the figures are reset once
they all run (`--reset-stats`), so a step measures its steady state only. Given the services'
process ids, a step also measures each one's CPU time per user message: from /proc before and
after the whole step (ramp included), divided by every message sent in it (ramp included).
"""

from __future__ import annotations

import csv
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from devstack import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
LOCUST = ROOT / ".venv" / "bin" / "locust"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
RAMP_SECONDS = 5


@dataclass(frozen=True)
class Target:
    """Where the load goes: the path's name in the report, its Locust user class, its URL."""

    name: str
    user_class: str
    url: str


@dataclass(frozen=True)
class StepResult:
    target: str
    users: int
    think: str  # "1-3" (paced like a person) or "0" (saturating)
    seconds: float
    messages: int
    failures: int
    per_second: float
    p50: float
    p95: float
    p99: float
    mean: float
    # Seconds of CPU per user message, by service (given their process ids).
    cpu_per_message: dict[str, float] = field(default_factory=dict)


def run(
    target: Target,
    users: int,
    seconds: float,
    think: str,
    csv_prefix: Path,
    samples: Path | None = None,
    pids: Mapping[str, int] | None = None,
) -> StepResult:
    """Runs `users` simulated people against `target` for `seconds` (after the ramp); `samples`:
    a file for every message's time, duration and outcome; `pids`: the services whose CPU time
    per message to measure."""
    if pids and samples is None:
        samples = Path(f"{csv_prefix}_messages.csv")
        samples.unlink(missing_ok=True)  # Locust appends to it
    ramp = min(RAMP_SECONDS, users)
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users / ramp),
        "--run-time",
        f"{int(seconds + ramp)}s",
        "--stop-timeout",
        "5",
        "--host",
        target.url,
        "--csv",
        str(csv_prefix),
        "--reset-stats",
        "--only-summary",
        "--loglevel",
        "ERROR",
        "--exit-code-on-error",
        "0",
        target.user_class,
    ]
    csv_prefix.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BENCH_THINK": think, "PYTHONPATH": str(ROOT)}
    if samples is not None:
        env["BENCH_SAMPLES"] = str(samples)
    before = cpu_seconds(pids or {})
    with csv_prefix.with_suffix(".log").open("w") as log:
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=seconds + ramp + 60,
        )
    result = read(target.name, users, think, seconds, csv_prefix)
    if not pids or samples is None:
        return result
    used = cpu_seconds(pids)
    sent = len(samples.read_text().splitlines()) if samples.exists() else 0
    if not sent:
        return result
    per_message = {name: (used[name] - before[name]) / sent for name in used if name in before}
    return replace(result, cpu_per_message=per_message)


def read(target: str, users: int, think: str, seconds: float, csv_prefix: Path) -> StepResult:
    """The "message" row of Locust's stats, and the failures of every row (connects too)."""
    with Path(f"{csv_prefix}_stats.csv").open(newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    message = rows.get("message")
    total = rows["Aggregated"]

    def number(key: str) -> float:
        return float(message[key]) if message and message[key] not in ("", "N/A") else 0.0

    return StepResult(
        target=target,
        users=users,
        think=think,
        seconds=seconds,
        messages=int(number("Request Count")),
        failures=int(total["Failure Count"]),
        per_second=number("Requests/s"),
        p50=number("50%"),
        p95=number("95%"),
        p99=number("99%"),
        mean=number("Average Response Time"),
    )


def windows(samples: Path, seconds: float) -> list[dict[str, float]]:
    """p95 and errors per window of `seconds`, from a samples file (see locustfile.py)."""
    rows = [line.split(",") for line in samples.read_text().splitlines() if line]
    if not rows:
        return []
    start = float(rows[0][0])
    buckets: dict[int, list[tuple[float, int]]] = {}
    for at, duration, failed in rows:
        buckets.setdefault(int((float(at) - start) // seconds), []).append((float(duration), int(failed)))
    points = []
    for index in sorted(buckets):
        durations = sorted(d for d, _ in buckets[index])
        points.append(
            {
                "minute": (index + 0.5) * seconds / 60,
                "p95": durations[int(0.95 * (len(durations) - 1))],
                "per_second": len(durations) / seconds,
                "errors": sum(f for _, f in buckets[index]),
            }
        )
    return points


def pause() -> None:
    """Lets the servers finish what the previous step left in flight."""
    time.sleep(3)
