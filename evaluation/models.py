"""The models the NLU evaluation (scripts/eval_nlu.py, `make eval`) scores and the benchmark
(bench/, `make bench`) serves, and the hash of their inputs; both import this module.

- The project's model is bot/models/current.tar.gz (`make train`).
- The stock model: Rasa's stock NLU pipeline (tests/nlu/stock_config.yml) with the project's
  policies, domain and data, trained into build/bench/models/ and kept under a hash of its
  inputs (`digest`), so a rerun trains it again only when the data changed.

Training runs Rasa's CLI in its own environment (.venv-rasa), always on a snapshot of bot/ in a
temporary folder: the data may change while it trains, and nothing here touches bot/.rasa.
Runs on Python 3.10 (the Rasa environment, for make eval) and 3.11 (the benchmark).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
OUT = ROOT / "build" / "bench"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PROJECT_MODEL = BOT / "models" / "current.tar.gz"
STOCK_CONFIG = ROOT / "tests" / "nlu" / "stock_config.yml"
# What `make train` depends on (the Makefile's RASA_INPUTS).
TRAINING_INPUTS = ("config.yml", "domain", "data", "components")


def snapshot(into: Path) -> Path:
    """A copy of the bot's training inputs (not its models nor its cache)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in TRAINING_INPUTS:
        source = BOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


def digest(folder: Path, names: tuple[str, ...]) -> str:
    """A hash of these files or folders under `folder` (names and contents)."""
    sha = hashlib.sha256()
    for name in names:
        path = folder / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            sha.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes())
    return sha.hexdigest()


def stock_config(project_config: Path) -> dict:
    """The stock NLU pipeline with the project's policies: only the NLU differs."""
    stock = yaml.safe_load(STOCK_CONFIG.read_text(encoding="utf-8"))
    project = yaml.safe_load(project_config.read_text(encoding="utf-8"))
    return {**stock, "policies": project["policies"]}


def rasa_train(project: Path, out: Path, name: str, config: Path, cache: Path) -> float:
    """`rasa train` in `project`; returns the seconds it took."""
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [str(RASA), "train", "--domain", "domain", "--data", "data", "--config", str(config)]
    command += ["--out", str(out), "--fixed-model-name", name, "--quiet"]
    log = out / f"{name}.train.log"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as output:
        done = subprocess.run(command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"rasa train ({name}) failed; see {log}")
    return time.monotonic() - started


def stock_project(into: Path) -> tuple[Path, str]:
    """A snapshot of bot/ with the stock pipeline's config, and the key of its inputs."""
    project = snapshot(into)
    config = project / "stock_config.yml"
    config.write_text(yaml.safe_dump(stock_config(project / "config.yml"), sort_keys=False))
    return project, digest(project, ("stock_config.yml", "domain", "data"))[:16]


def stock_model(fresh: bool = False) -> Path:
    """The stock model for the current data, trained if missing (about 45 minutes on 2 cores).

    `make eval` trains and scores it; `make bench` serves it (`cached_stock_model`), never trains it.
    """
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        project, key = stock_project(Path(tmp) / "bot")
        model = OUT / "models" / f"stock-{key}.tar.gz"
        if model.exists() and not fresh:
            return model
        print(f"training the stock model ({model.name}; it takes a while on 2 cores)…", flush=True)
        # Its own cache: the project's (bot/.rasa) stays as `make train` left it.
        name = model.name.removesuffix(".tar.gz")
        seconds = rasa_train(project, model.parent, name, project / "stock_config.yml", OUT / "cache")
        print(f"stock model trained in {seconds:.0f} s", flush=True)
        record = {"train_seconds": seconds, "trained_at": time.strftime("%Y-%m-%d %H:%M")}
        _training_record(model).write_text(json.dumps(record), encoding="utf-8")
        for old in model.parent.glob("stock-*"):
            if old.name.split(".")[0] != model.name.split(".")[0]:
                old.unlink()
        return model


def cached_stock_model() -> Path | None:
    """The stock model `make eval` left in build/bench/models/ (it keeps one), whichever data it
    was trained on (`stock_provenance` says), or None."""
    found = sorted((OUT / "models").glob("stock-*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return found[-1] if found else None


def stock_provenance(model: Path) -> dict:
    """When the stock model was trained, from which inputs, and whether they are today's."""
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        _, current = stock_project(Path(tmp) / "bot")
    record = _training_record(model)
    saved = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(model.stat().st_mtime))
    key = model.name.removesuffix(".tar.gz").removeprefix("stock-")
    return {
        "model": model.name,
        "inputs": key,
        "trained_at": saved.get("trained_at", modified),
        "train_seconds": saved.get("train_seconds"),
        "current": key == current,
    }


def stock_training_seconds(model: Path) -> float | None:
    """How long the stock model took to train from scratch, if this machine trained it."""
    record = _training_record(model)
    return json.loads(record.read_text(encoding="utf-8"))["train_seconds"] if record.exists() else None


def _training_record(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")
