"""The benchmark: how well the bot understands, and how fast it answers under load, side by side
with Rasa's stock pipeline on the same data. A benchmark, not a test: it prints figures and
never fails on a threshold (the report says which goals were met).

  python -m bench                  # what `make bench` runs (after `make train` and `make eval`)
  python -m bench --step-seconds 10 --users 1,10 --saturate-users 5   # a short run
  python -m bench soak --minutes 20 --users 50                        # what `make soak` runs

Writes bench/results/<date>/report.md with PNG plots and prints the summary table. The NLU
figures are `make eval`'s (build/eval/*.json); the stock model and the training figures are
cached in build/bench/ under a hash of their inputs (`--fresh` trains again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from bench import load, models, report, servers
from bench.memory import Sampler
from devstack.project import RASA_PYTHON
from evaluation import models as evaluation
from evaluation.models import BOT, PROJECT_MODEL

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "build" / "eval"
RESULTS = ROOT / "bench" / "results"

TARGETS = (("web", "WebUser"), ("rest", "RestUser"), ("stock", "RestUser"))


def nlu_figures() -> dict:
    """`make eval`'s figures for both pipelines."""
    figures = {}
    for name in ("project", "stock"):
        path = EVAL / f"{name}.json"
        if not path.exists():
            sys.exit(f"{path} is missing: run `make eval` first (make bench does)")
        saved = json.loads(path.read_text(encoding="utf-8"))["figures"]
        # Each held-out message's prediction is make eval's business, not the report's.
        figures[name] = {key: value for key, value in saved.items() if key != "predictions"}
    return figures


def floor(stock_model: Path) -> dict:
    """bench/floor.py in the Rasa environment, each model in a process of its own (what loading
    it adds to the memory is then the model's, not the libraries' a first model loaded)."""
    figures = {}
    for name, model in (("project", PROJECT_MODEL), ("stock", stock_model)):
        command = [RASA_PYTHON, str(ROOT / "bench" / "floor.py"), f"{name}={model}"]
        done = subprocess.run(command, cwd=BOT, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"bench/floor.py failed:\n{done.stderr[-3000:]}")
        figures |= json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def url_of(target: str, running: servers.Servers) -> str:
    ports = running.stack.ports
    return {"web": ports.channels_url, "rest": ports.rasa_url, "stock": running.stock_url}[target]


def warm_up(running: servers.Servers) -> None:
    """One short conversation on each path, untimed: a server's first message costs seconds
    (TensorFlow's first call, connection pools, caches) that no person would meet twice."""
    for name, user_class in TARGETS:
        target = load.Target(name, user_class, url_of(name, running))
        load.run(target, 1, 10, "0", running.stack.databases.folder / "warm-up" / name)


def load_steps(running: servers.Servers, args: argparse.Namespace, folder: Path) -> list[load.StepResult]:
    """Each level of users on the three paths in turn, then each path saturated."""
    plan = [(users, "1-3") for users in args.users] + [(args.saturate_users, "0")]
    results = []
    for users, think in plan:
        for name, user_class in TARGETS:
            target = load.Target(name, user_class, url_of(name, running))
            prefix = folder / "locust" / f"{name}-{users}-think{think}"
            print(f"  {name:<5} {users:>3} users, think {think} s…", end=" ", flush=True)
            result = load.run(target, users, args.step_seconds, think, prefix)
            print(
                f"p95 {result.p95:.0f} ms, {result.per_second:.1f} msg/s, {result.failures} errors",
                flush=True,
            )
            results.append(result)
            load.pause()
    return results


def bench(args: argparse.Namespace) -> int:
    if not PROJECT_MODEL.exists():
        sys.exit(f"{PROJECT_MODEL} is missing: run `make train` first (make bench does)")
    nlu = nlu_figures()
    stock_model = evaluation.stock_model(args.fresh)
    training = models.training(args.fresh)
    print("the floor: parse and prediction in-process…", flush=True)
    floor_figures = floor(stock_model)
    date = datetime.now().strftime("%Y-%m-%d-%H%M")
    folder = args.out / date
    folder.mkdir(parents=True, exist_ok=True)
    print("starting the stack and the stock Rasa server…", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        servers.running(Path(tmp), stock_model) as running,
    ):
        print(f"  stack healthy in {running.startup_seconds:.0f} s", flush=True)
        with Sampler(running.ports()) as sampler:
            time.sleep(5)  # settled after start-up
            idle = sampler.now()
            warm_up(running)
            started = time.monotonic()
            steps = load_steps(running, args, folder)
            peak = sampler.peak_since(started)
    figures = report.Figures(
        nlu=nlu,
        steps=steps,
        floor=floor_figures,
        training=training,
        startup_seconds=running.startup_seconds,
        memory_idle=idle,
        memory_peak=peak,
        settings={
            "step_seconds": args.step_seconds,
            "users": args.users,
            "saturate_users": args.saturate_users,
            "think": "1-3",
        },
    )
    plot_names = report.plots(figures, folder)
    (folder / "report.md").write_text(report.markdown(figures, date, plot_names), encoding="utf-8")
    (folder / "figures.json").write_text(json.dumps(asdict(figures), indent=2, default=str), encoding="utf-8")
    print("\n" + report.summary(figures) + "\n")
    for goal, measured, met in report.goals(figures):
        print(f"  {'met   ' if met else 'MISSED' if met is False else '  -   '} {goal}: {measured}")
    print(f"\nreport: {folder / 'report.md'}")
    return 0


def soak(args: argparse.Namespace) -> int:
    from bench import soak as soak_run

    return soak_run.run(args.minutes, args.soak_users, args.out)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", nargs="?", choices=["bench", "soak"], default="bench")
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=float(os.environ.get("BENCH_STEP_SECONDS", 30)),
        help="how long each load step runs after its ramp (BENCH_STEP_SECONDS)",
    )
    parser.add_argument(
        "--users",
        type=lambda s: [int(u) for u in s.split(",")],
        default=[1, 10, 50, 100],
        help="levels of concurrent users, paced like people (default 1,10,50,100)",
    )
    parser.add_argument(
        "--saturate-users",
        type=int,
        default=20,
        help="users with no think time, for the throughput the machine sustains",
    )
    parser.add_argument("--fresh", action="store_true", help="train the stock model and time training again")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the dated report folder goes")
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("SOAK_MINUTES", 20)),
        help="soak: how long (SOAK_MINUTES)",
    )
    parser.add_argument(
        "--soak-users", type=int, default=50, help="soak: concurrent users, paced like people"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return soak(args) if args.mode == "soak" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
