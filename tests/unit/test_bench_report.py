"""bench/report.py: a turn's reply time is the median of the turns around it, and the goals read
the right step of a run (the channel service saturated for throughput and CPU, 100 paced users
for p95), "not measured" when the run lacks it (a quick run without the stock pipeline)."""

from bench import report
from bench.load import StepResult

PROJECT = {"intents": {group: {"accuracy": 0.96} for group in ("uk", "pl", "en", "ru", "messy")}}


def step(target: str, users: int, think: str, p95: float, rate: float, cpu: dict[str, float]) -> StepResult:
    return StepResult(target, users, think, 10, 100, 0, rate, p95 / 2, p95, p95, p95 / 2, cpu)


def figures(steps: list[StepResult], turns: dict) -> report.Figures:
    return report.Figures(
        nlu={"project": PROJECT},
        steps=steps,
        floor={"project": {"parse": {"p50": 4.0}, "predict": {"p50": 1.0}}},
        training=None,
        startup_seconds=20,
        memory_idle={},
        memory_peak={"rasa": 800, "channels": 100},
        turns=turns,
    )


def verdicts(found: report.Figures) -> dict[str, bool | None]:
    return {goal: met for goal, _, met in report.goals(found)}


def test_a_turn_is_the_median_of_the_ten_around_it():
    points = [(turn, float(turn)) for turn in range(1, 301)]
    assert report.turn_at(points, 10) == 10.5  # turns 6–15
    assert report.turn_at(points, 300) == 295.5  # the last ten
    points[9] = (10, 1000.0)  # one slow reply moves the figure to its neighbour's, no further
    assert report.turn_at(points, 10) == 11.5


def test_the_goals_read_saturation_paced_users_and_the_long_session():
    cpu = {"rasa": 0.017, "channels": 0.011}
    steps = [step("web", 100, "1-3", 250, 40, {}), step("web", 20, "0", 900, 61, cpu)]
    flat = [(turn, 0.05) for turn in range(1, 301)]
    found = verdicts(figures(steps, {"rest": flat}))
    assert found["100 paced users: p95 < 300 ms through the channel service"] is True
    assert found["≥ 60 msg/s through the channel service with 0 errors"] is True
    assert found["turn 300's reply ≤ 1.3× turn 10's (one session, Rasa REST)"] is True
    assert found["CPU per message, rasa ≤ 18 ms (channel service saturated)"] is True
    assert found["CPU per message, channels ≤ 10 ms (channel service saturated)"] is False
    assert report.floor_gap(figures(steps, {}), "project") == (17.0, 17.0 / 5.0)


def test_what_a_run_lacks_is_not_measured_rather_than_met():
    growing = [(turn, 0.05 + turn / 1000) for turn in range(1, 101)]
    found = verdicts(figures([], {"rest": growing}))
    assert found["turn 100's reply ≤ 1.3× turn 10's (one session, Rasa REST)"] is False
    assert found["intent accuracy above stock in every language"] is None
    assert found["≥ 60 msg/s through the channel service with 0 errors"] is None
    assert found["training from scratch < 5 min"] is None
