"""The benchmark's training figures: the project trained from scratch (empty cache) in a copy of
bot/, then again after a one-line change (one NLU example added) with that cache, as `make train`
would. The models themselves (the project's, the stock pipeline's) are evaluation/models.py's,
shared with `make eval`.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluation.models import OUT, TRAINING_INPUTS, digest, rasa_train, snapshot

# The example the one-line change adds (to the English greetings).
ONE_LINE = "    - hello there, bench"


@dataclass(frozen=True)
class Training:
    from_scratch_seconds: float
    one_line_change_seconds: float
    model_bytes: int
    inputs: str


def add_one_example(project: Path) -> None:
    """The one-line change: one more English greeting."""
    path = project / "data" / "nlu" / "en.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "- intent: greet":
            # "- intent: greet" is followed by "  examples: |" and the examples.
            lines.insert(index + 2, ONE_LINE)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return
    raise RuntimeError(f"no greet intent in {path}")


CACHE = OUT / "training.json"


def training(fresh: bool = False, measure: bool = True) -> Training | None:
    """Training figures of the project's model, cached under a hash of its inputs; None when they
    are not cached for today's inputs and `measure` is off (a quick run)."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        project = snapshot(Path(tmp) / "bot")
        key = digest(project, TRAINING_INPUTS)
        if CACHE.exists() and not fresh:
            saved = json.loads(CACHE.read_text(encoding="utf-8"))
            if saved.get("inputs") == key:
                print("training: inputs unchanged, figures from build/bench/training.json", flush=True)
                return Training(**saved)
        if not measure:
            return None
        out, cache = Path(tmp) / "models", Path(tmp) / "cache"
        print("training the project's model from scratch (empty cache)…", flush=True)
        scratch = rasa_train(project, out, "scratch", project / "config.yml", cache)
        model_bytes = (out / "scratch.tar.gz").stat().st_size
        print(f"  {scratch:.0f} s; now after a one-line change to the data…", flush=True)
        add_one_example(project)
        changed = rasa_train(project, out, "changed", project / "config.yml", cache)
        print(f"  {changed:.0f} s", flush=True)
        figures = Training(scratch, changed, model_bytes, key)
        OUT.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")
        return figures
