"""The bench's report: a Markdown file, its plots (PNG) and the summary table printed at the end."""

from __future__ import annotations

import platform
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
GOAL_USERS = 50
MB_LIMIT_RASA, MB_LIMIT_OTHER = 1536, 300


@dataclass
class Figures:
    """Everything one bench run measured."""

    nlu: dict  # build/eval/report.json: {"project": figures, "stock": figures} (make eval)
    steps: list[StepResult]
    floor: dict  # bench/floor.py's output
    training: Training
    startup_seconds: float
    memory_idle: dict[str, float]
    memory_peak: dict[str, float]  # the maximum during the heaviest steps
    settings: dict = field(default_factory=dict)


def step(figures: Figures, target: str, users: int, think: str = "1-3") -> StepResult | None:
    found = [s for s in figures.steps if (s.target, s.users, s.think) == (target, users, think)]
    return found[0] if found else None


def saturation(figures: Figures, target: str) -> StepResult | None:
    found = [s for s in figures.steps if s.target == target and s.think == "0"]
    return found[0] if found else None


def goals(figures: Figures) -> list[tuple[str, str, bool | None]]:
    """(goal, what was measured, met); None when the run did not measure it."""
    project, stock = figures.nlu["project"]["intents"], figures.nlu["stock"]["intents"]
    rows: list[tuple[str, str, bool | None]] = []
    worst = min(LANGUAGES, key=lambda lang: project[lang]["accuracy"])
    rows.append(
        (
            "intent accuracy ≥ 0.95 in every language",
            f"lowest {worst} {project[worst]['accuracy']:.3f}",
            project[worst]["accuracy"] >= 0.95,
        )
    )
    rows.append(
        (
            "intent accuracy ≥ 0.90 on messy text",
            f"{project['messy']['accuracy']:.3f}",
            project["messy"]["accuracy"] >= 0.90,
        )
    )
    above = [lang for lang in LANGUAGES if project[lang]["accuracy"] > stock[lang]["accuracy"]]
    rows.append(
        (
            "intent accuracy above stock in every language",
            ", ".join(
                f"{lang} {project[lang]['accuracy'] - stock[lang]['accuracy']:+.3f}" for lang in LANGUAGES
            ),
            len(above) == len(LANGUAGES),
        )
    )
    web, rest_stock = step(figures, "web", GOAL_USERS), step(figures, "stock", GOAL_USERS)
    rows.append(
        (
            f"{GOAL_USERS} users: p95 < 300 ms through the channel service",
            f"{web.p95:.0f} ms" if web else "not run",
            web.p95 < 300 if web else None,
        )
    )
    rows.append(
        (
            f"{GOAL_USERS} users: no errors through the channel service",
            f"{web.failures} errors in {web.messages} messages" if web else "not run",
            web.failures == 0 if web else None,
        )
    )
    if web and rest_stock and rest_stock.p95 > 0:
        ratio = web.p95 / rest_stock.p95
        rows.append(
            (
                f"{GOAL_USERS} users: project's full path p95 ≤ 1.5× stock's REST p95",
                f"{web.p95:.0f} / {rest_stock.p95:.0f} ms = {ratio:.2f}×",
                ratio <= 1.5,
            )
        )
    else:
        rows.append((f"{GOAL_USERS} users: project's full path p95 ≤ 1.5× stock's REST p95", "not run", None))
    saturated = saturation(figures, "web")
    rows.append(
        (
            "sustained throughput ≥ 40 msg/s through the channel service",
            f"{saturated.per_second:.1f} msg/s ({saturated.failures} errors)" if saturated else "not run",
            saturated.per_second >= 40 and saturated.failures == 0 if saturated else None,
        )
    )
    train = figures.training
    rows.append(
        (
            "training from scratch < 5 min",
            f"{train.from_scratch_seconds:.0f} s",
            train.from_scratch_seconds < 300,
        )
    )
    rows.append(
        (
            "a one-line change retrains in < half of that",
            f"{train.one_line_change_seconds:.0f} s "
            f"({train.one_line_change_seconds / train.from_scratch_seconds:.0%})",
            train.one_line_change_seconds < train.from_scratch_seconds / 2,
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
    heaviest = max(others, key=others.get)
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
    project, stock = figures.nlu["project"]["intents"], figures.nlu["stock"]["intents"]
    lines = ["| | project | stock |", "| --- | --- | --- |"]
    for group in ("all", *LANGUAGES, "messy"):
        lines.append(
            f"| intent accuracy, {group} | {project[group]['accuracy']:.3f} | "
            f"{stock[group]['accuracy']:.3f} |"
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
    floor = figures.floor
    lines.append(
        f"| floor (in-process): parse + prediction, median | "
        f"{_floor(floor.get('project'))} | {_floor(floor.get('stock'))} |"
    )
    train = figures.training
    lines.append(
        f"| training: scratch / one-line change | {train.from_scratch_seconds:.0f} s / "
        f"{train.one_line_change_seconds:.0f} s | "
        f"{_seconds(figures.nlu['stock']['train_seconds'])} from scratch |"
    )
    lines.append(f"| model size | {train.model_bytes / 1e6:.0f} MB | |")
    peak = figures.memory_peak
    lines.append(
        f"| Rasa resident memory, peak | {peak.get('rasa', 0):.0f} MB | "
        f"{peak.get('rasa (stock)', 0):.0f} MB |"
    )
    lines.append(f"| start-up of the stack | {figures.startup_seconds:.0f} s | |")
    return "\n".join(lines)


def _ms(result: StepResult | None) -> str:
    if result is None:
        return "–"
    errors = f", {result.failures} err" if result.failures else ""
    return f"{result.p95:.0f} ms{errors}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


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
        _accuracy_plot(figures, folder),
    ]
    return [name for name in names if name]


def _latency_plot(figures: Figures, folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"web": "tab:blue", "rest": "tab:green", "stock": "tab:red"}
    for target, color in colors.items():
        results = sorted(
            (s for s in figures.steps if s.target == target and s.think != "0"), key=lambda s: s.users
        )
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


def _accuracy_plot(figures: Figures, folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = [*LANGUAGES, "messy"]
    width = 0.38
    for offset, name in ((-width / 2, "project"), (width / 2, "stock")):
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
        "shorten or change a run).",
        "## Summary",
        summary(figures),
        "## Goals",
        "| goal | measured | |\n| --- | --- | --- |\n"
        + "\n".join(f"| {goal} | {measured} | {_mark(met)} |" for goal, measured, met in goals(figures)),
        "## NLU quality (held-out set, `make eval`)",
        _nlu_section(figures.nlu),
        "## Latency and throughput under load",
        _load_section(figures),
        "## The floor: one parse and one prediction in-process",
        _floor_section(figures),
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
        f"{settings.get('saturate_users')} users saturating"
    )


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _nlu_section(nlu: dict) -> str:
    groups = ["all", *LANGUAGES, "clean", "messy", *(f"{lang}/messy" for lang in LANGUAGES)]
    lines = [
        "| group | n | project accuracy | project macro-F1 | stock accuracy | stock macro-F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for group in groups:
        p, s = nlu["project"]["intents"][group], nlu["stock"]["intents"][group]
        lines.append(
            f"| {group} | {p['n']} | {p['accuracy']:.3f} | {p['macro_f1']:.3f} | "
            f"{s['accuracy']:.3f} | {s['macro_f1']:.3f} |"
        )
    lines += [
        "",
        "| entity | project precision / recall | stock precision / recall | n |",
        "| --- | --- | --- | --- |",
    ]
    for name in ENTITIES:
        p, s = nlu["project"]["entities"][name], nlu["stock"]["entities"][name]
        lines.append(
            f"| {name} | {p['precision']:.3f} / {p['recall']:.3f} | "
            f"{s['precision']:.3f} / {s['recall']:.3f} | {p['support']} |"
        )
    lines += ["", "Costliest confusions (expected → predicted):", ""]
    for name in ("project", "stock"):
        pairs = ", ".join(f"{t} → {g} ({n})" for t, g, n in nlu[name]["confusions"][:5])
        lines.append(f"- {name}: {pairs or 'none'}")
    return "\n".join(lines)


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
    one = step(figures, "web", 1)
    if one and "project" in figures.floor:
        floor = figures.floor["project"]["parse"]["p50"] + figures.floor["project"]["predict"]["p50"]
        lines.append(
            f"\nOne user through the channel service: p50 {one.p50:.0f} ms, against {floor:.0f} ms of model "
            "time: the rest is HTTP, the tracker store, the action server and the channel service's "
            "storing and pushing."
        )
    return "\n".join(lines)


def _training_section(figures: Figures) -> str:
    train = figures.training
    return (
        f"The project's model (`rasa train`, its own empty cache, a copy of bot/): from scratch "
        f"{train.from_scratch_seconds:.0f} s; after adding one NLU example, with the cache of that "
        f"training: {train.one_line_change_seconds:.0f} s. Model: {train.model_bytes / 1e6:.1f} MB. "
        "The stock model (Rasa's default NLU pipeline with the project's policies, from scratch, "
        f"trained for `make eval` and served here): {_seconds(figures.nlu['stock']['train_seconds'])}."
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
