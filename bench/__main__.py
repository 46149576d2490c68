"""The benchmark: how well the bot understands, and how fast it answers under load, side by side
with Rasa's stock pipeline on the same data. A benchmark, not a test: it prints figures and
never fails on a threshold (the report says which goals were met).

  python -m bench                  # what `make bench` runs (after `make train` and `make eval`)
  python -m bench --quick          # what `make bench-quick` runs: under 10 minutes, for development
  python -m bench --step-seconds 10 --users 1,10 --saturate-users 5   # a short run
  python -m bench soak --minutes 20 --users 50                        # what `make soak` runs

Writes bench/results/<date>/report.md with PNG plots and prints the summary table. The NLU
figures are `make eval`'s (build/eval/*.json); so is the stock model (build/bench/models/, under
a hash of its inputs), which the benchmark serves and never trains: the report says when it was
trained and whether from today's data. The project's training figures are cached in build/bench/
under a hash of its inputs (`--fresh` measures them again).

--quick: load steps of 10 s at 10 and 100 paced users and saturated, 100 turns in the long
sessions, training figures only when cached, the floor of the project's model only, the stock
pipeline only when `make eval` left its model and figures (make bench-quick scores only the
project's model: it never trains a stock one).
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

from bench import load, models, report, servers, turns
from bench.memory import Sampler
from devstack.project import RASA_PYTHON
from evaluation import models as evaluation
from evaluation.models import BOT, PROJECT_MODEL

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "build" / "eval"
RESULTS = ROOT / "bench" / "results"

TARGETS = (("web", "WebUser"), ("rest", "RestUser"), ("stock", "RestUser"))

FULL = {"users": [1, 10, 50, 100], "saturate_users": 20, "turns": 300}
QUICK = {"step_seconds": 10.0, "users": [10, 100], "saturate_users": 20, "turns": 100}


def nlu_figures(need_stock: bool) -> dict:
    """`make eval`'s figures: the project's, and the stock pipeline's when there (or needed)."""
    figures = {}
    for name in ("project", "stock"):
        path = EVAL / f"{name}.json"
        if not path.exists():
            if name == "stock" and not need_stock:
                continue
            sys.exit(f"{path} is missing: run `make eval` first (make bench does)")
        saved = json.loads(path.read_text(encoding="utf-8"))["figures"]
        # Each held-out message's prediction is make eval's business, not the report's.
        figures[name] = {key: value for key, value in saved.items() if key != "predictions"}
    return figures


def provenance(stock_model: Path | None, training: models.Training | None) -> dict[str, dict]:
    """Where the figures and models that this run did not make come from: file, the digest of
    their inputs, when they were made."""
    found = {"project model": {"file": _relative(PROJECT_MODEL), "made": _modified(PROJECT_MODEL)}}
    for name in ("project", "stock"):
        path = EVAL / f"{name}.json"
        if path.exists():
            inputs = json.loads(path.read_text(encoding="utf-8"))["inputs"][:16]
            made = _modified(path)
            found[f"{name} NLU figures"] = {"file": _relative(path), "inputs": inputs, "made": made}
    if stock_model is not None:
        stock = evaluation.stock_provenance(stock_model)
        seconds = stock["train_seconds"]
        found["stock model"] = {
            "file": _relative(stock_model),
            "inputs": stock["inputs"],
            "made": stock["trained_at"],
            "train_seconds": seconds,
            "note": ("today's data" if stock["current"] else "**older data** (make eval trains it again)")
            + (f"; trained in {seconds:.0f} s" if seconds else ""),
        }
    if training is not None:
        found["training figures"] = {
            "file": _relative(models.CACHE),
            "inputs": training.inputs[:16],
            "made": _modified(models.CACHE),
        }
    return found


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _modified(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")


def floor(stock_model: Path | None) -> dict:
    """bench/floor.py in the Rasa environment, each model in a process of its own (what loading
    it adds to the memory is then the model's, not the libraries' a first model loaded)."""
    figures = {}
    for name, model in (("project", PROJECT_MODEL), ("stock", stock_model)):
        if model is None:
            continue
        command = [RASA_PYTHON, str(ROOT / "bench" / "floor.py"), f"{name}={model}"]
        done = subprocess.run(command, cwd=BOT, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"bench/floor.py failed:\n{done.stderr[-3000:]}")
        figures |= json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def url_of(target: str, running: servers.Servers) -> str | None:
    ports = running.stack.ports
    return {"web": ports.channels_url, "rest": ports.rasa_url, "stock": running.stock_url}[target]


def targets(running: servers.Servers) -> list[load.Target]:
    """The paths under load: the stock one only when a stock model is served."""
    found = [(name, user_class, url_of(name, running)) for name, user_class in TARGETS]
    return [load.Target(name, user_class, url) for name, user_class, url in found if url]


def warm_up(running: servers.Servers) -> None:
    """One short conversation on each path, untimed: a server's first message costs seconds
    (TensorFlow's first call, connection pools, caches) that no person would meet twice."""
    for target in targets(running):
        load.run(target, 1, 10, "0", running.stack.databases.folder / "warm-up" / target.name)


def long_sessions(running: servers.Servers, count: int) -> dict[str, list[tuple[int, float]]]:
    """One session of `count` turns on each pipeline's REST channel, one after the other."""
    found = {}
    for target in targets(running):
        if target.user_class == "RestUser":
            print(f"  {target.name:<5} one session of {count} turns…", end=" ", flush=True)
            found[target.name] = turns.turn_latency(target.url, count)
            print(
                f"turn 10 {report.turn_at(found[target.name], 10) * 1000:.0f} ms, "
                f"turn {count} {report.turn_at(found[target.name], count) * 1000:.0f} ms",
                flush=True,
            )
    return found


def load_steps(running: servers.Servers, args: argparse.Namespace, folder: Path) -> list[load.StepResult]:
    """Each level of users on the paths in turn, then each path saturated; each step also
    measures every service's CPU time per user message."""
    plan = [(users, "1-3") for users in args.users] + [(args.saturate_users, "0")]
    results = []
    for users, think in plan:
        for target in targets(running):
            prefix = folder / "locust" / f"{target.name}-{users}-think{think}"
            print(f"  {target.name:<5} {users:>3} users, think {think} s…", end=" ", flush=True)
            result = load.run(target, users, args.step_seconds, think, prefix, pids=running.pids())
            rasa = result.cpu_per_message.get("rasa (stock)" if target.name == "stock" else "rasa", 0)
            print(
                f"p95 {result.p95:.0f} ms, {result.per_second:.1f} msg/s, {result.failures} errors, "
                f"Rasa {rasa * 1000:.1f} ms CPU/msg",
                flush=True,
            )
            results.append(result)
            load.pause()
    return results


def bench(args: argparse.Namespace) -> int:
    began = time.monotonic()
    if not PROJECT_MODEL.exists():
        sys.exit(f"{PROJECT_MODEL} is missing: run `make train` first (make bench does)")
    nlu = nlu_figures(need_stock=not args.quick)
    # Served, never trained here (make eval trains it): only with its figures, in a quick run.
    stock_model = evaluation.cached_stock_model() if "stock" in nlu else None
    if stock_model is None and not args.quick:
        sys.exit("no stock model in build/bench/models/: run `make eval` first (make bench does)")
    training = models.training(args.fresh, measure=not args.quick)
    print("the floor: parse and prediction in-process…", flush=True)
    # A quick run spares the minute or two of loading the stock model in-process.
    floor_figures = floor(None if args.quick else stock_model)
    date = datetime.now().strftime("%Y-%m-%d-%H%M")
    folder = args.out / (date + ("-quick" if args.quick else ""))
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
            print("reply time against turn number…", flush=True)
            sessions = long_sessions(running, args.turns)
            print("load steps…", flush=True)
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
        turns=sessions,
        provenance=provenance(stock_model, training),
        settings={
            "quick": args.quick,
            "step_seconds": args.step_seconds,
            "users": args.users,
            "saturate_users": args.saturate_users,
            "think": "1-3",
            "turns": args.turns,
        },
    )
    plot_names = report.plots(figures, folder)
    (folder / "report.md").write_text(report.markdown(figures, date, plot_names), encoding="utf-8")
    (folder / "figures.json").write_text(json.dumps(asdict(figures), indent=2, default=str), encoding="utf-8")
    print("\n" + report.summary(figures) + "\n")
    for goal, measured, met in report.goals(figures):
        print(f"  {'met   ' if met else 'MISSED' if met is False else '  -   '} {goal}: {measured}")
    print(f"\nreport: {folder / 'report.md'} ({(time.monotonic() - began) / 60:.1f} min)")
    return 0


def soak(args: argparse.Namespace) -> int:
    from bench import soak as soak_run

    return soak_run.run(args.minutes, args.soak_users, args.out)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", nargs="?", choices=["bench", "soak"], default="bench")
    parser.add_argument("--quick", action="store_true", help="a short run for development (see above)")
    parser.add_argument(
        "--step-seconds",
        type=float,
        help="how long each load step runs after its ramp (BENCH_STEP_SECONDS, default 30)",
    )
    parser.add_argument(
        "--users",
        type=lambda s: [int(u) for u in s.split(",")],
        help="levels of concurrent users, paced like people (default 1,10,50,100)",
    )
    parser.add_argument(
        "--saturate-users",
        type=int,
        help="users with no think time, for the throughput the machine sustains (default 20)",
    )
    parser.add_argument("--turns", type=int, help="turns of the long session on each pipeline (default 300)")
    parser.add_argument("--fresh", action="store_true", help="time the project's training again")
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
    args = parser.parse_args(argv)
    step_seconds = float(os.environ.get("BENCH_STEP_SECONDS", 30))
    defaults = QUICK if args.quick else FULL | {"step_seconds": step_seconds}
    for name, value in defaults.items():
        if getattr(args, name) is None:  # what the command line gives wins
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return soak(args) if args.mode == "soak" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
