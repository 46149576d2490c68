"""The bench's report: a Markdown file, its plots (PNG) and the summary table printed at the end."""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from bench.load import StepResult  # noqa: E402
from bench.models import Training  # noqa: E402
from common.languages import LANGUAGES  # noqa: E402

ENTITIES = ("pesel", "email", "username")
TARGET_LABELS = {
    "web": "project, channel service (WebSocket)",
    "rest": "project, Rasa REST",
    "stock": "stock, Rasa REST",
}
COLORS = {"web": "tab:blue", "rest": "tab:green", "stock": "tab:red"}
GOAL_USERS = 100
GOAL_RATE = 60  # messages per second through the channel service, with no error
TURN_GROWTH = 1.3  # the last turn's reply time at most this many times turn 10's
# CPU seconds per user message, by service, at the channel service's saturation.
CPU_LIMITS = {"rasa": 0.018, "channels": 0.010}
SERVICES = ("rasa", "rasa (stock)", "actions", "channels", "backend")
# A turn's reply time is the median of the TURN_WINDOW turns around it: one reply alone is noise.
TURN_WINDOW = 10
MB_LIMIT_RASA, MB_LIMIT_OTHER = 1536, 300


@dataclass
class Figures:
    """Everything one bench run measured."""

    nlu: dict  # build/eval/<name>.json: {"project": figures, "stock": figures} (make eval)
    steps: list[StepResult]
    floor: dict  # bench/floor.py's output
    training: Training | None  # None: not cached for today's inputs, and a quick run
    startup_seconds: float
    memory_idle: dict[str, float]
    memory_peak: dict[str, float]  # the maximum during the heaviest steps
    # Reply time against turn number in one long session, per REST path: [(turn, seconds)].
    turns: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    # Where the figures and models this run did not make come from (__main__.provenance).
    provenance: dict[str, dict] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def step(figures: Figures, target: str, users: int, think: str = "1-3") -> StepResult | None:
    found = [s for s in figures.steps if (s.target, s.users, s.think) == (target, users, think)]
    return found[0] if found else None


def saturation(figures: Figures, target: str) -> StepResult | None:
    found = [s for s in figures.steps if s.target == target and s.think == "0"]
    return found[0] if found else None


def turn_at(points: list[tuple[int, float]], turn: int) -> float:
    """The median reply time (s) of the TURN_WINDOW turns around `turn`: turns 6–15 for turn 10,
    the last ten for the last turn."""
    last = points[-1][0]
    high = min(last, max(turn + TURN_WINDOW // 2, TURN_WINDOW))
    low = high - TURN_WINDOW + 1
    return statistics.median(seconds for number, seconds in points if low <= number <= high)


def turn_growth(figures: Figures, target: str) -> tuple[float, float, int] | None:
    """(turn 10's reply time, the last turn's, the last turn's number) of a long session."""
    points = figures.turns.get(target)
    if not points or points[-1][0] < 2 * TURN_WINDOW:
        return None
    last = points[-1][0]
    return turn_at(points, 10), turn_at(points, last), last


def measured_services(steps: list[StepResult]) -> list[str]:
    """The services whose CPU these steps measured (the stock Rasa server only when it ran)."""
    return [name for name in SERVICES if any(name in s.cpu_per_message for s in steps)]


def cpu_ms(result: StepResult | None, service: str) -> float | None:
    """The service's CPU milliseconds per user message in that step."""
    if result is None or service not in result.cpu_per_message:
        return None
    return result.cpu_per_message[service] * 1000


def floor_ms(figures: Figures, model: str) -> float | None:
    """One parse and one prediction in-process, medians (ms)."""
    found = figures.floor.get(model)
    return found["parse"]["p50"] + found["predict"]["p50"] if found else None


def floor_gap(figures: Figures, model: str) -> tuple[float, float] | None:
    """(Rasa's CPU ms per message at saturation, that over the floor) for a pipeline: how far
    the server is from the in-process floor."""
    target, service = ("stock", "rasa (stock)") if model == "stock" else ("web", "rasa")
    used, floor = cpu_ms(saturation(figures, target), service), floor_ms(figures, model)
    return (used, used / floor) if used is not None and floor else None


def goals(figures: Figures) -> list[tuple[str, str, bool | None]]:
    """(goal, what was measured, met); None when the run did not measure it."""
    return [*_nlu_goals(figures.nlu), *_load_goals(figures), *_cost_goals(figures)]


def _nlu_goals(nlu: dict) -> list[tuple[str, str, bool | None]]:
    project = nlu["project"]["intents"]
    worst = min(LANGUAGES, key=lambda lang: project[lang]["accuracy"])
    rows: list[tuple[str, str, bool | None]] = [
        (
            "intent accuracy ≥ 0.95 in every language",
            f"lowest {worst} {project[worst]['accuracy']:.3f}",
            project[worst]["accuracy"] >= 0.95,
        ),
        (
            "intent accuracy ≥ 0.90 on messy text",
            f"{project['messy']['accuracy']:.3f}",
            project["messy"]["accuracy"] >= 0.90,
        ),
    ]
    if "stock" not in nlu:
        return [*rows, ("intent accuracy above stock in every language", "no stock figures", None)]
    stock = nlu["stock"]["intents"]
    gaps = {lang: project[lang]["accuracy"] - stock[lang]["accuracy"] for lang in LANGUAGES}
    measured = ", ".join(f"{lang} {gap:+.3f}" for lang, gap in gaps.items())
    return [*rows, ("intent accuracy above stock in every language", measured, min(gaps.values()) > 0)]


def _load_goals(figures: Figures) -> list[tuple[str, str, bool | None]]:
    web, rest_stock = step(figures, "web", GOAL_USERS), step(figures, "stock", GOAL_USERS)
    rows: list[tuple[str, str, bool | None]] = [
        (
            f"{GOAL_USERS} paced users: p95 < 300 ms through the channel service",
            f"{web.p95:.0f} ms" if web else "not run",
            web.p95 < 300 if web else None,
        ),
        (
            f"{GOAL_USERS} paced users: no errors through the channel service",
            f"{web.failures} errors in {web.messages} messages" if web else "not run",
            web.failures == 0 if web else None,
        ),
    ]
    goal = f"{GOAL_USERS} paced users: project's full path p95 ≤ 1.5× stock's REST p95"
    if web and rest_stock and rest_stock.p95 > 0:
        ratio = web.p95 / rest_stock.p95
        rows.append((goal, f"{web.p95:.0f} / {rest_stock.p95:.0f} ms = {ratio:.2f}×", ratio <= 1.5))
    else:
        rows.append((goal, "not run", None))
    saturated = saturation(figures, "web")
    rows.append(
        (
            f"≥ {GOAL_RATE} msg/s through the channel service with 0 errors",
            f"{saturated.per_second:.1f} msg/s ({saturated.failures} errors)" if saturated else "not run",
            saturated.per_second >= GOAL_RATE and saturated.failures == 0 if saturated else None,
        )
    )
    growth = turn_growth(figures, "rest")
    last = growth[2] if growth else figures.settings.get("turns", 300)
    rows.append(
        (
            f"turn {last}'s reply ≤ {TURN_GROWTH}× turn 10's (one session, Rasa REST)",
            f"{growth[1] * 1000:.0f} / {growth[0] * 1000:.0f} ms = {growth[1] / growth[0]:.2f}×"
            if growth
            else "not run",
            growth[1] <= TURN_GROWTH * growth[0] if growth else None,
        )
    )
    return rows


def _cost_goals(figures: Figures) -> list[tuple[str, str, bool | None]]:
    saturated = saturation(figures, "web")
    rows: list[tuple[str, str, bool | None]] = []
    for service, limit in CPU_LIMITS.items():
        used = cpu_ms(saturated, service)
        rows.append(
            (
                f"CPU per message, {service} ≤ {limit * 1000:.0f} ms (channel service saturated)",
                f"{used:.1f} ms" if used is not None else "not run",
                used <= limit * 1000 if used is not None else None,
            )
        )
    train = figures.training
    rows.append(
        (
            "training from scratch < 5 min",
            f"{train.from_scratch_seconds:.0f} s" if train else "not measured (quick run)",
            train.from_scratch_seconds < 300 if train else None,
        )
    )
    rows.append(
        (
            "a one-line change retrains in < half of that",
            f"{train.one_line_change_seconds:.0f} s "
            f"({train.one_line_change_seconds / train.from_scratch_seconds:.0%})"
            if train
            else "not measured (quick run)",
            train.one_line_change_seconds < train.from_scratch_seconds / 2 if train else None,
        )
    )
    peak = figures.memory_peak
    rows.append(
        (
            "Rasa server < 1.5 GB resident",
            f"{peak.get('rasa', 0):.0f} MB",
            peak.get("rasa", 0) < MB_LIMIT_RASA,
        )
    )
    others = {name: mb for name, mb in peak.items() if not name.startswith("rasa")}
    heaviest = max(others, key=others.__getitem__)
    rows.append(
        (
            "every other service < 300 MB",
            f"largest: {heaviest} {others[heaviest]:.0f} MB",
            all(mb < MB_LIMIT_OTHER for mb in others.values()),
        )
    )
    return rows


def _mark(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def summary(figures: Figures) -> str:
    """The summary table (Markdown): what the README shows."""
    lines = ["| | project | stock |", "| --- | --- | --- |"]
    for group in ("all", *LANGUAGES, "messy"):
        lines.append(
            f"| intent accuracy, {group} | {_accuracy(figures.nlu, 'project', group)} | "
            f"{_accuracy(figures.nlu, 'stock', group)} |"
        )
    for users in sorted({s.users for s in figures.steps if s.think != "0"}):
        web, rest, rest_stock = (step(figures, t, users) for t in ("web", "rest", "stock"))
        lines.append(
            f"| p95, {users} users: channel service / REST | "
            f"{_ms(web)} / {_ms(rest)} | – / {_ms(rest_stock)} |"
        )
    web, rest, rest_stock = (saturation(figures, t) for t in ("web", "rest", "stock"))
    lines.append(
        f"| max msg/s: channel service / REST | {_rate(web)} / {_rate(rest)} | – / {_rate(rest_stock)} |"
    )
    project_turns, stock_turns = turn_growth(figures, "rest"), turn_growth(figures, "stock")
    last = (project_turns or stock_turns or (0, 0, figures.settings.get("turns", 300)))[2]
    lines.append(
        f"| reply, one session: turn 10 / turn {last} | {_turns(project_turns)} | {_turns(stock_turns)} |"
    )
    lines.append(
        "| CPU per message, saturated: Rasa / channel service | "
        f"{_cpu(web, 'rasa')} / {_cpu(web, 'channels')} | {_cpu(rest_stock, 'rasa (stock)')} / – |"
    )
    floor = figures.floor
    lines.append(
        f"| floor (in-process): parse + prediction, median | "
        f"{_floor(floor.get('project'))} | {_floor(floor.get('stock'))} |"
    )
    lines.append(
        f"| Rasa's CPU per message over the floor | {_gap(floor_gap(figures, 'project'))} | "
        f"{_gap(floor_gap(figures, 'stock'))} |"
    )
    train = figures.training
    lines.append(
        "| training: scratch / one-line change | "
        + (f"{train.from_scratch_seconds:.0f} s / {train.one_line_change_seconds:.0f} s" if train else "–")
        + f" | {_stock_training(figures)} |"
    )
    lines.append(f"| model size | {train.model_bytes / 1e6:.0f} MB | |" if train else "| model size | – | |")
    peak = figures.memory_peak
    stock_peak = f"{peak['rasa (stock)']:.0f} MB" if "rasa (stock)" in peak else "–"
    lines.append(f"| Rasa resident memory, peak | {peak.get('rasa', 0):.0f} MB | {stock_peak} |")
    lines.append(f"| start-up of the stack | {figures.startup_seconds:.0f} s | |")
    return "\n".join(lines)


def _stock_training(figures: Figures) -> str:
    """How long the stock model took to train from scratch (make eval), and when."""
    model = figures.provenance.get("stock model")
    if not model:
        return "–"
    seconds = model.get("train_seconds")
    return f"{seconds:.0f} s from scratch, {model['made']}" if seconds else f"trained {model['made']}"


def _accuracy(nlu: dict, name: str, group: str) -> str:
    return f"{nlu[name]['intents'][group]['accuracy']:.3f}" if name in nlu else "–"


def _turns(growth: tuple[float, float, int] | None) -> str:
    return f"{growth[0] * 1000:.0f} / {growth[1] * 1000:.0f} ms" if growth else "–"


def _cpu(result: StepResult | None, service: str) -> str:
    used = cpu_ms(result, service)
    return "–" if used is None else f"{used:.1f} ms"


def _gap(found: tuple[float, float] | None) -> str:
    return f"{found[1]:.1f}× ({found[0]:.1f} ms)" if found else "–"


def _ms(result: StepResult | None) -> str:
    if result is None:
        return "–"
    errors = f", {result.failures} err" if result.failures else ""
    return f"{result.p95:.0f} ms{errors}"


def _rate(result: StepResult | None) -> str:
    return f"{result.per_second:.1f}" if result else "–"


def _floor(found: dict | None) -> str:
    if not found:
        return "–"
    return f"{found['parse']['p50']:.1f} + {found['predict']['p50']:.1f} ms"


def plots(figures: Figures, folder: Path) -> list[str]:
    names = [
        _latency_plot(figures, folder),
        _throughput_plot(figures, folder),
        _turns_plot(figures, folder),
        _cpu_plot(figures, folder),
        _accuracy_plot(figures, folder),
    ]
    return [name for name in names if name]


def _latency_plot(figures: Figures, folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for target, color in COLORS.items():
        results = sorted(
            (s for s in figures.steps if s.target == target and s.think != "0"), key=lambda s: s.users
        )
        if not results:
            continue
        for percentile, style in (("p50", ":"), ("p95", "-"), ("p99", "--")):
            ax.plot(
                [s.users for s in results],
                [getattr(s, percentile) for s in results],
                style,
                color=color,
                marker="o",
                label=f"{percentile}, {TARGET_LABELS[target]}",
            )
    ax.set(
        xlabel="concurrent users (think time 1–3 s)",
        ylabel="latency per message (ms)",
        title="Latency against concurrent users",
        yscale="log",
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, folder, "latency.png")


def _throughput_plot(figures: Figures, folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for target in ("web", "rest", "stock"):
        results = sorted(
            (s for s in figures.steps if s.target == target and s.think != "0"), key=lambda s: s.users
        )
        if results:
            ax.plot(
                [s.users for s in results],
                [s.per_second for s in results],
                marker="o",
                label=TARGET_LABELS[target],
            )
        saturated = saturation(figures, target)
        if saturated:
            ax.axhline(
                saturated.per_second,
                linestyle=":",
                color=ax.lines[-1].get_color(),
                label=f"saturated ({saturated.users} users, no think time), {target}",
            )
    ax.set(
        xlabel="concurrent users (think time 1–3 s)",
        ylabel="messages per second",
        title="Throughput against concurrent users",
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, folder, "throughput.png")


def _turns_plot(figures: Figures, folder: Path) -> str | None:
    """Each turn's reply time (dots) and the median of the TURN_WINDOW turns around it (line)."""
    if not figures.turns:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for target, points in figures.turns.items():
        turns = [turn for turn, _ in points]
        color = COLORS[target]
        ax.plot(turns, [seconds * 1000 for _, seconds in points], ".", color=color, alpha=0.25, markersize=3)
        ax.plot(
            turns,
            [turn_at(points, turn) * 1000 for turn in turns],
            color=color,
            label=f"{TARGET_LABELS[target]}, median of {TURN_WINDOW} turns",
        )
    ax.set(
        xlabel="turn of one session",
        ylabel="reply time (ms)",
        title="Reply time against turn number (one long session each)",
        ylim=(0, None),
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, folder, "turns.png")


def _cpu_plot(figures: Figures, folder: Path) -> str | None:
    """CPU per user message by service, each path saturated, against the goals."""
    saturated = [result for target in TARGET_LABELS if (result := saturation(figures, target))]
    if not any(result.cpu_per_message for result in saturated):
        return None
    services = measured_services(saturated)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    width = 0.8 / len(saturated)
    for index, result in enumerate(saturated):
        values = [(cpu_ms(result, service) or 0.0) for service in services]
        offsets = [i - 0.4 + width * (index + 0.5) for i in range(len(services))]
        label = f"{TARGET_LABELS[result.target]}, saturated"
        bars = ax.bar(offsets, values, width, label=label, color=COLORS[result.target])
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    for service, limit in CPU_LIMITS.items():
        where = services.index(service)
        ax.hlines(limit * 1000, where - 0.45, where + 0.45, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(services)), services)
    ax.set(ylabel="CPU ms per user message", title="CPU per user message by service (dashed: goal)")
    ax.legend(fontsize=7)
    return _save(fig, folder, "cpu.png")


def _accuracy_plot(figures: Figures, folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = [*LANGUAGES, "messy"]
    width = 0.38
    for offset, name in ((-width / 2, "project"), (width / 2, "stock")):
        if name not in figures.nlu:
            continue
        values = [figures.nlu[name]["intents"][g]["accuracy"] for g in groups]
        bars = ax.bar([i + offset for i in range(len(groups))], values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set(ylabel="intent accuracy (held-out set)", title="Intent accuracy per language", ylim=(0.8, 1.0))
    ax.axhline(0.95, color="grey", linewidth=0.8, linestyle="--")
    ax.legend()
    return _save(fig, folder, "accuracy.png")


def _save(fig: plt.Figure, folder: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)
    return name


def markdown(figures: Figures, date: str, plot_names: list[str]) -> str:
    """The whole report."""
    parts = [
        f"# Benchmark {date}",
        f"Machine: {platform.machine()}, {_cpus()} CPU cores, Python {platform.python_version()}; "
        f"{_settings(figures.settings)}. Reproduce: `make bench` (bench/__main__.py says how to "
        "shorten or change a run)."
        + (
            " **A quick run** (`--quick`, `make bench-quick`): the stock pipeline only if `make eval` "
            "left it, training figures only when cached, no stock floor; for development, not for "
            "comparing with the full runs."
            if figures.settings.get("quick")
            else ""
        ),
        "## Summary",
        summary(figures),
        "## Goals",
        "| goal | measured | |\n| --- | --- | --- |\n"
        + "\n".join(f"| {goal} | {measured} | {_mark(met)} |" for goal, measured, met in goals(figures)),
        "## NLU quality (held-out set, `make eval`)",
        _nlu_section(figures.nlu),
        "## Latency and throughput under load",
        _load_section(figures),
        "## Reply time against turn number",
        _turns_section(figures),
        "## CPU per user message",
        _cpu_section(figures),
        "## The floor: one parse and one prediction in-process",
        _floor_section(figures),
        "## Where the figures come from",
        _provenance_section(figures),
        "## Training",
        _training_section(figures),
        "## Memory (resident, MB)",
        _memory_section(figures),
        "## Plots",
        "\n\n".join(f"![{name}]({name})" for name in plot_names),
    ]
    return "\n\n".join(parts) + "\n"


def _settings(settings: dict) -> str:
    users = "/".join(str(u) for u in settings.get("users", []))
    return (
        f"{settings.get('step_seconds', 0):g} s per load step, {users} users paced like people, "
        f"{settings.get('saturate_users')} users saturating, sessions of {settings.get('turns')} turns"
    )


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _nlu_section(nlu: dict) -> str:
    project, stock = nlu["project"], nlu.get("stock")
    groups = ["all", *LANGUAGES, "clean", "messy", *(f"{lang}/messy" for lang in LANGUAGES)]
    lines = [
        "| group | n | project accuracy | project macro-F1 | stock accuracy | stock macro-F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for group in groups:
        p = project["intents"][group]
        s = stock["intents"][group] if stock else None
        lines.append(
            f"| {group} | {p['n']} | {p['accuracy']:.3f} | {p['macro_f1']:.3f} | "
            f"{_number(s, 'accuracy')} | {_number(s, 'macro_f1')} |"
        )
    lines += [
        "",
        "| entity | project precision / recall | stock precision / recall | n |",
        "| --- | --- | --- | --- |",
    ]
    for name in ENTITIES:
        p = project["entities"][name]
        s = stock["entities"][name] if stock else None
        lines.append(
            f"| {name} | {p['precision']:.3f} / {p['recall']:.3f} | "
            f"{_number(s, 'precision')} / {_number(s, 'recall')} | {p['support']} |"
        )
    lines += ["", "Costliest confusions (expected → predicted):", ""]
    for name, figures in nlu.items():
        pairs = ", ".join(f"{t} → {g} ({n})" for t, g, n in figures["confusions"][:5])
        lines.append(f"- {name}: {pairs or 'none'}")
    if not stock:
        lines.append("\nNo stock figures: `make eval` scores the stock pipeline (a quick run does not).")
    return "\n".join(lines)


def _number(found: dict | None, key: str) -> str:
    return f"{found[key]:.3f}" if found else "–"


def _load_section(figures: Figures) -> str:
    settings = figures.settings
    lines = [
        f"Each simulated person has a whole conversation (about eight messages: a greeting, a task, "
        f"walkthrough steps by button, an FAQ question, more steps, thanks; held-out texts in a random "
        f"language), pausing {settings.get('think', '1-3')} s between messages, then a new person "
        f"starts. Each step runs {settings.get('step_seconds')} s after a ramp of up to 5 s; the three "
        "paths take turns at each level, in the same run. With think time the offered load grows with "
        "the users (100 people send under 50 msg/s), so the throughput the machine sustains is measured "
        f"apart: {settings.get('saturate_users')} people with no think time, each sending as soon as "
        "the reply is there.",
        "",
        "| path | users | think (s) | messages | errors | msg/s | p50 ms | p95 ms | p99 ms | mean ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in figures.steps:
        lines.append(
            f"| {TARGET_LABELS[s.target]} | {s.users} | {s.think} | {s.messages} | {s.failures} | "
            f"{s.per_second:.1f} | {s.p50:.0f} | {s.p95:.0f} | {s.p99:.0f} | {s.mean:.0f} |"
        )
    return "\n".join(lines)


def _floor_section(figures: Figures) -> str:
    lines = [
        "| model | parse p50 / p95 ms | policy prediction p50 / p95 ms | memory loading the model adds "
        "(after TensorFlow and Rasa are imported) |",
        "| --- | --- | --- | --- |",
    ]
    for name, found in figures.floor.items():
        lines.append(
            f"| {name} | {found['parse']['p50']:.1f} / {found['parse']['p95']:.1f} | "
            f"{found['predict']['p50']:.1f} / {found['predict']['p95']:.1f} | "
            f"{found.get('loaded_mb', 0):.0f} MB |"
        )
    one, floor = step(figures, "web", 1), floor_ms(figures, "project")
    if one and floor:
        lines.append(
            f"\nOne user through the channel service: p50 {one.p50:.0f} ms, against {floor:.0f} ms of model "
            "time: the rest is HTTP, the tracker store, the action server and the channel service's "
            "storing and pushing."
        )
    return "\n".join(lines)


def _turns_section(figures: Figures) -> str:
    if not figures.turns:
        return "Not run."
    lines = [
        f"One person's session of {figures.settings.get('turns')} turns on each pipeline's Rasa REST "
        "channel, one after the other, under one sender id: bench/conversations.py's conversation "
        "again and again (greeting, a guide started by button or typed, its steps, an FAQ question in "
        'the middle, "Continue", more steps, thanks), so the tracker grows as a long session\'s does. '
        "Wall time per reply, from sending until the HTTP reply is in; a turn's figure is the median "
        f"of the {TURN_WINDOW} turns around it (one reply alone is noise on a shared machine).",
        "",
        "| path | turn 10 | turn 50 | turn 100 | last turn | last / turn 10 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for target, points in figures.turns.items():
        last = points[-1][0]
        cells = [f"{turn_at(points, turn) * 1000:.0f} ms" if turn <= last else "–" for turn in (10, 50, 100)]
        ratio = turn_at(points, last) / turn_at(points, 10)
        lines.append(
            f"| {TARGET_LABELS[target]} | {' | '.join(cells)} | "
            f"{turn_at(points, last) * 1000:.0f} ms (turn {last}) | {ratio:.2f}× |"
        )
    return "\n".join(lines)


def _cpu_section(figures: Figures) -> str:
    measured = [s for s in figures.steps if s.cpu_per_message]
    if not measured:
        return "Not measured."
    services = measured_services(measured)
    lines = [
        "CPU time (user + system, from /proc) of each service's process across a whole load step, "
        "ramp included, divided by every user message sent in that step: what one message costs "
        "each service, however busy the machine (unlike wall time). A service off the step's path "
        "shows what it spends idle.",
        "",
        "| path | users | think (s) | " + " | ".join(services) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in services) + " |",
    ]
    for s in measured:
        cells = " | ".join(_cpu(s, service) for service in services)
        lines.append(f"| {TARGET_LABELS[s.target]} | {s.users} | {s.think} | {cells} |")
    lines.append("")
    for model in ("project", "stock"):
        gap, floor = floor_gap(figures, model), floor_ms(figures, model)
        if gap and floor:
            lines.append(
                f"- {model}: Rasa {gap[0]:.1f} ms of CPU per message saturated, against the in-process "
                f"floor of {floor:.1f} ms (one parse and one prediction, medians): {gap[1]:.1f}×."
            )
    return "\n".join(lines)


def _provenance_section(figures: Figures) -> str:
    lines = [
        "Figures and models this run took from caches (digest: the first 16 hex digits of the hash "
        "of their inputs). `make eval` scores and trains again what their inputs' change touched; "
        "the benchmark never trains the stock model, it serves the one `make eval` left.",
        "",
        "| what | file | inputs digest | made | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for what, found in figures.provenance.items():
        lines.append(
            f"| {what} | {found['file']} | {found.get('inputs', '–')} | {found['made']} | "
            f"{found.get('note', '')} |"
        )
    if "stock model" not in figures.provenance:
        lines.append("| stock model | none in build/bench/models/ | – | – | `make eval` trains it |")
    return "\n".join(lines)


def _training_section(figures: Figures) -> str:
    train = figures.training
    if train is None:
        return (
            "Not measured (a quick run, and no figures cached for today's inputs). The stock model: "
            f"{_stock_training(figures)}."
        )
    return (
        f"The project's model (`rasa train`, its own empty cache, a copy of bot/): from scratch "
        f"{train.from_scratch_seconds:.0f} s; after adding one NLU example, with the cache of that "
        f"training: {train.one_line_change_seconds:.0f} s. Model: {train.model_bytes / 1e6:.1f} MB. "
        "The stock model (Rasa's default NLU pipeline with the project's policies, from scratch, "
        f"trained by `make eval` and served here): {_stock_training(figures)}."
    )


def _memory_section(figures: Figures) -> str:
    lines = ["| service | idle | peak under load |", "| --- | --- | --- |"]
    for name, idle in figures.memory_idle.items():
        lines.append(f"| {name} | {idle:.0f} | {figures.memory_peak.get(name, 0):.0f} |")
    lines.append(
        f"\nStart-up of the stack (backend with demo data, actions, Rasa, channels, each healthy): "
        f"{figures.startup_seconds:.0f} s."
    )
    return "\n".join(lines)
