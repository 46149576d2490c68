"""The floor: what one NLU parse and one policy prediction cost in-process, with no HTTP, tracker
store or action server in between. Runs in the Rasa environment, from bot/ (the project's
components load from there):

  cd bot && ../.venv-rasa/bin/python ../bench/floor.py project=models/current.tar.gz stock=…

Prints JSON: per model, the median and 95th percentile of each, in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bot")]
logging.disable(logging.WARNING)

from rasa.core.agent import Agent  # noqa: E402
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bench.conversations import corpus  # noqa: E402

WARM_UP = 20
SAMPLES = 200


def texts() -> list[str]:
    everything = [text for texts in corpus().values() for text in texts]
    return random.Random(7).sample(everything, min(SAMPLES, len(everything)))


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "n": len(ms)}


async def measure(model: str) -> dict[str, dict[str, float]]:
    import tensorflow  # noqa: F401 - loaded before measuring: the model's own memory is what counts

    before = resident_mb()
    agent = Agent.load(model)
    loaded = resident_mb() - before
    sample = texts()
    for text in sample[:WARM_UP]:
        await agent.parse_message(text)
    parse_times, predict_times = [], []
    for index, text in enumerate(sample):
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        parse_times.append(time.perf_counter() - started)
        tracker = DialogueStateTracker.from_events(
            f"floor-{index}",
            [
                ActionExecuted("action_session_start"),
                SessionStarted(),
                ActionExecuted("action_listen"),
                UserUttered(text, parsed["intent"], parsed["entities"], parsed),
            ],
            slots=agent.domain.slots,
        )
        started = time.perf_counter()
        agent.predict_next_with_tracker(tracker)
        predict_times.append(time.perf_counter() - started)
    return {
        "parse": percentiles(parse_times),
        "predict": percentiles(predict_times),
        "loaded_mb": loaded,  # what loading the model added to this process's resident memory
    }


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    models = dict(argument.split("=", 1) for argument in sys.argv[1:])
    print(json.dumps({name: asyncio.run(measure(path)) for name, path in models.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
