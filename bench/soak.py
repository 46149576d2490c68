"""The soak run (`make soak`): steady load through the channel service for a bounded time.

People paced as in the bench (1-3 s between messages) hold conversations through the widget's
socket for `minutes`; the report shows each service's resident memory at the start and the end
(a leak shows as growth), the errors, and p95 latency and memory over time as plots.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench import load, servers  # noqa: E402
from bench.memory import Sampler  # noqa: E402

MEMORY_INTERVAL = 10.0


def run(minutes: float, users: int, out: Path) -> int:
    date = datetime.now().strftime("%Y-%m-%d-%H%M")
    folder = out / f"{date}-soak"
    folder.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60
    print(f"soak: {users} users through the channel service for {minutes:g} min", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmp,
        servers.running(Path(tmp), None) as running,
        Sampler(running.ports(), MEMORY_INTERVAL) as sampler,
    ):
        time.sleep(5)
        start = sampler.now()
        target = load.Target("web", "WebUser", running.stack.ports.channels_url)
        # Untimed: a server's first message costs seconds that no person meets twice.
        load.run(target, 1, 10, "0", folder / "locust" / "warm-up")
        prefix = folder / "locust" / "soak"
        samples = folder / "locust" / "messages.csv"
        samples.unlink(missing_ok=True)
        started = time.monotonic()
        result = load.run(target, users, seconds, "1-3", prefix, samples)
        end = sampler.now()
        memory = dict(sampler.samples)
    points = load.windows(samples, max(10.0, seconds / 40))
    _plot(points, memory, started, folder / "soak.png")
    text = _markdown(date, minutes, users, result, start, end)
    (folder / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"report: {folder / 'report.md'}")
    return 0


def _plot(
    points: list[dict[str, float]], memory: dict[str, list[tuple[float, float]]], started: float, path: Path
) -> None:
    """p95 per window, and each service's memory, against minutes since the load started."""
    fig, (latency, rss) = plt.subplots(2, 1, figsize=(8, 6), sharex=False)
    latency.plot([p["minute"] for p in points], [p["p95"] for p in points], marker=".")
    errors = [p for p in points if p["errors"]]
    if errors:
        latency.plot(
            [p["minute"] for p in errors], [p["p95"] for p in errors], "rx", label="errors in window"
        )
        latency.legend(fontsize=7)
    latency.set(ylabel="p95 ms per window", title="Soak: p95 latency through the channel service")
    latency.grid(alpha=0.3)
    for name, samples in memory.items():
        rss.plot([(at - started) / 60 for at, _ in samples], [mb for _, mb in samples], label=name)
    rss.set(xlabel="minutes", ylabel="resident MB", title="Memory of each service")
    rss.legend(fontsize=7)
    rss.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(date: str, minutes: float, users: int, result: load.StepResult, start: dict, end: dict) -> str:
    lines = [
        f"# Soak run {date}",
        "",
        f"{users} simulated people (think time 1-3 s) through the channel service for {minutes:g} min: "
        f"{result.messages} messages, {result.per_second:.1f} msg/s, **{result.failures} errors**, "
        f"p50 {result.p50:.0f} ms, p95 {result.p95:.0f} ms, p99 {result.p99:.0f} ms.",
        "",
        "| service | resident MB at the start | at the end | change |",
        "| --- | --- | --- | --- |",
    ]
    for name, before in start.items():
        after = end.get(name, 0.0)
        lines.append(f"| {name} | {before:.0f} | {after:.0f} | {after - before:+.0f} |")
    lines += ["", "![p95 and memory over time](soak.png)", ""]
    return "\n".join(lines)
