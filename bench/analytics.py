"""How long the console's analytics page takes on 100 000 conversations, on SQLite and PostgreSQL.
A benchmark, not a test: it prints figures and never fails on a threshold.

  python -m bench.analytics                      # both databases (PostgreSQL by scripts/ci_postgres.sh)
  python -m bench.analytics --conversations 10000 --no-postgres

Fills a channel service's database and a tracker store with synthetic conversations spread over
the last 90 days (the slot events and intents the bot writes, texts of realistic length, every
index the service creates), builds the analytics' summary from scratch (timed), then times the
page's figures and its HTML for 7, 30 and 90 days: the best of --runs after one warm-up run, as a
staff member reloading the page would see it (the summary's catch-up included). Last, it adds
NEW conversations and times the refresh that reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bot.tracker_admin import events
from channels import analytics, analytics_summary
from channels.analytics import Period
from channels.console.analytics import Choice, render
from channels.models import Base
from channels.texts import console_texts

ROOT = Path(__file__).resolve().parents[1]
GUIDES = {
    "get_pesel": 6,
    "get_trusted_profile": 5,
    "ikp_login": 7,
    "forgot_username": 3,
    "forgot_password": 4,
}
FAQ = ["ikp_cost", "what_is_ikp", "what_is_pesel", "mojeikp_app", "children_account", "helpdesk_location"]
LANGUAGES = ["uk", "uk", "uk", "pl", "en", "ru"]
RANKING = [{"name": n, "confidence": 0.1} for n in ("greet", "affirm", "deny", "faq", "help")]
DAYS = 90
# Conversations added after the timings, to time an incremental refresh of the summary.
NEW = 1_000


@dataclass
class Conversation:
    """One synthetic conversation: its rows for both stores."""

    id: str
    channel: str
    language: str
    events: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    clock: float = 0.0

    def tick(self, seconds: float = 20.0) -> float:
        self.clock += seconds
        return self.clock

    def event(
        self, type_name: str, data: dict[str, Any], intent: str | None = None, action: str | None = None
    ) -> None:
        data["timestamp"] = self.clock
        self.events.append((self.id, type_name, self.clock, intent, action, json.dumps(data)))

    def user(self, intent: str) -> None:
        self.tick()
        parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "intent_ranking": RANKING}
        self.event(
            "user", {"event": "user", "text": "<masked text of the person>" * 2, "parse_data": parse}, intent
        )
        self.message("user")

    def action(self, name: str) -> None:
        self.event(
            "action",
            {"event": "action", "name": name, "policy": "RulePolicy", "confidence": 1.0},
            action=name,
        )

    def bot(self, response: str) -> None:
        self.tick(0.5)
        self.event(
            "bot",
            {"event": "bot", "text": "A reply of the bot. " * 8, "metadata": {"utter_action": response}},
        )
        self.message("bot")

    def slot(self, name: str, value: Any) -> None:
        self.event("slot", {"event": "slot", "name": name, "value": value}, action=name)

    def message(self, author: str, at: float | None = None) -> None:
        moment = datetime.fromtimestamp(at or self.clock, UTC).replace(tzinfo=None)
        self.messages.append((self.id, author, "masked text " * 4, "[]", moment, moment))


def conversation(number: int, rng: random.Random, now: float) -> Conversation:
    channel = "telegram" if rng.random() < 0.3 else "web"
    c = Conversation(f"{channel}-{number:08d}", channel, rng.choice(LANGUAGES))
    c.clock = now - rng.random() * DAYS * 86400
    c.action("action_session_start")
    c.event("session_started", {"event": "session_started"})
    c.slot("language", c.language)
    c.user("greet")
    c.action("utter_greet")
    c.bot("utter_greet")
    if rng.random() < 0.6:
        walkthrough(c, rng)
    if rng.random() < 0.4:
        faq(c, rng)
    if rng.random() < 0.12:
        c.user("nlu_fallback")
        c.action("action_default_ask_affirmation")
        c.bot("utter_did_you_mean")
    if rng.random() < 0.05:
        c.user("human_handoff")
        c.action("action_handoff")
        c.bot("utter_handoff_opened")
        if rng.random() < 0.9:
            c.message("staff", c.clock + rng.expovariate(1 / 600))
    return c


def walkthrough(c: Conversation, rng: random.Random) -> None:
    guide = rng.choice(list(GUIDES))
    c.user(guide)
    last = GUIDES[guide] if rng.random() < 0.5 else rng.randint(1, GUIDES[guide])
    for step in range(1, last + 1):
        if step > 1:
            c.user("affirm")
        c.action("action_walkthrough")
        c.bot(f"utter_{guide}_step_{step}")
        for name, value in (("guide", guide), ("step", float(step)), ("return_to", None)):
            c.slot(name, value)
        c.slot("walkthrough", {"guide": guide, "step": step, "shown": "step"})
        if rng.random() < 0.1:
            c.user("deny")
            c.action("action_walkthrough")
            c.bot(f"utter_{guide}_stuck_{step}")
            c.slot("walkthrough", {"guide": guide, "step": step, "shown": "stuck"})
    if last == GUIDES[guide]:
        c.user("affirm")
        c.action("action_walkthrough")
        c.bot(f"utter_{guide}_done")
        c.slot("walkthrough", {"guide": guide, "step": None, "shown": "done"})
        answered(c, rng, f"guide:{guide}")


def faq(c: Conversation, rng: random.Random) -> None:
    c.user("faq")
    c.action("utter_faq")
    c.bot("utter_faq/" + rng.choice(FAQ))
    c.action("action_after_answer")
    answered(c, rng, "faq:" + rng.choice(FAQ))


def answered(c: Conversation, rng: random.Random, topic: str) -> None:
    c.slot("topic", topic)
    c.bot("utter_ask_feedback")
    c.slot("feedback_topic", topic)
    c.slot("feedback_asked", [topic])
    if rng.random() < 0.3:
        c.user("feedback")
        c.action("action_feedback")
        answer = "yes" if rng.random() < 0.75 else "no"
        c.bot("utter_feedback_thanks" if answer == "yes" else "utter_feedback_sorry")
        c.slot("feedback", f"{answer} {topic}")


def conversations(count: int, seed: int = 17, first: int = 0) -> Iterator[Conversation]:
    rng = random.Random(seed)
    now = datetime.now(UTC).timestamp()
    for number in range(first, first + count):
        yield conversation(number, rng, now)


# Filling the stores


def create(channels: Engine, tracker: Engine) -> None:
    Base.metadata.drop_all(channels)
    Base.metadata.create_all(channels)
    events.drop(tracker, checkfirst=True)
    events.create(tracker)
    # Rasa's own index (SQLEvent.sender_id, index=True).
    with tracker.begin() as connection:
        connection.execute(text("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)"))


def fill(channels: Engine, tracker: Engine, count: int) -> tuple[int, int]:
    create(channels, tracker)
    return add(channels, tracker, conversations(count))


def add(channels: Engine, tracker: Engine, new: Iterator[Conversation]) -> tuple[int, int]:
    """Writes the conversations as the services do; returns (tracker events, messages) written."""
    batch: list[Conversation] = []
    totals = [0, 0]
    for c in new:
        batch.append(c)
        if len(batch) == 5000:
            _write(channels, tracker, batch, totals)
            batch = []
    _write(channels, tracker, batch, totals)
    return totals[0], totals[1]


def _write(channels: Engine, tracker: Engine, batch: list[Conversation], totals: list[int]) -> None:
    if not batch:
        return
    people = [(c.id, c.channel, c.id.split("-", 1)[1], c.language, "bot") for c in batch]
    messages = [m for c in batch for m in c.messages]
    rows = [e for c in batch for e in c.events]
    totals[0] += len(rows)
    totals[1] += len(messages)
    now = datetime.now(UTC).replace(tzinfo=None)
    with channels.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO conversations (id, channel, external_id, language, state, created_at, updated_at) "
            f"VALUES ({_marks(channels, 7)})",
            [(*p, now, now) for p in people],
        )
        connection.exec_driver_sql(
            "INSERT INTO messages (conversation_id, author, text, buttons, created_at, delivered_at) "
            f"VALUES ({_marks(channels, 6)})",
            messages,
        )
    with tracker.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            f"VALUES ({_marks(tracker, 6)})",
            rows,
        )


def _marks(engine: Engine, count: int) -> str:
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    return ", ".join([mark] * count)


# Timing


def timed(channels: Engine, tracker_url: str, days: int, runs: int) -> tuple[float, float]:
    """(best seconds for the figures, best seconds for figures + HTML) over `runs` after a warm-up."""
    period = Period.last_days(days, datetime.now(UTC).date())
    choice = Choice(days=days)
    texts = console_texts()["pl"]
    figures, page = [], []
    for _ in range(runs + 1):
        start = time.perf_counter()
        report = analytics.report(channels, tracker_url, period)
        middle = time.perf_counter()
        render(report, choice, texts)
        figures.append(middle - start)
        page.append(time.perf_counter() - start)
    return min(figures[1:]), min(page[1:])


def run(name: str, channels_url: str, tracker_url: str, count: int, runs: int) -> tuple[list[str], str]:
    """(The page's lines of the timing table, the summary's line of its table)."""
    channels, tracker = create_engine(channels_url), create_engine(tracker_url)
    start = time.perf_counter()
    rows, messages = fill(channels, tracker, count)
    print(
        f"{name}: {count} conversations, {rows} tracker events, {messages} messages filled in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )
    built = refreshed(channels, tracker_url)
    print(f"{name}: summary built from scratch in {built}", flush=True)
    # Statistics (and on PostgreSQL the visibility map an index-only scan needs), as a database in
    # use has them from its autovacuum; a bulk load leaves neither.
    for engine in (channels, tracker):
        vacuum = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(vacuum))
    lines = []
    for days in (7, 30, 90):
        figures, page = timed(channels, tracker_url, days, runs)
        lines.append(f"| {name} | {days} days | {figures * 1000:.0f} ms | {page * 1000:.0f} ms |")
        print(lines[-1], flush=True)
    add(channels, tracker, conversations(NEW, seed=18, first=count))
    refresh = refreshed(channels, tracker_url)
    print(f"{name}: summary refreshed after {NEW} new conversations in {refresh}", flush=True)
    channels.dispose()
    tracker.dispose()
    return lines, f"| {name} | {built} | {refresh} |"


def refreshed(channels: Engine, tracker_url: str) -> str:
    """The time a refresh of the summary takes (wall clock, and this process's CPU: the rest is
    the database's, or waiting)."""
    wall, cpu = time.perf_counter(), time.process_time()
    analytics_summary.refresh(channels, tracker_url)
    return f"{time.perf_counter() - wall:.2f} s (CPU here {time.process_time() - cpu:.2f} s)"


def postgres_url() -> str:
    env = {**os.environ, "PG_TEST_DB": "onboarding_bench_analytics"}
    script = ROOT / "scripts" / "ci_postgres.sh"
    return subprocess.run([str(script)], check=True, capture_output=True, text=True, env=env).stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    lines = [
        "| database | period | figures (summary caught up, SQL) | page (figures + HTML) |",
        "| --- | --- | --- | --- |",
    ]
    summary = [
        f"| database | summary built from scratch | refreshed after {NEW} new conversations |",
        "| --- | --- | --- |",
    ]
    runs = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="bench-analytics-") as folder:
            channels_url = f"sqlite:///{Path(folder) / 'channels.db'}"
            tracker_url = f"sqlite:///{Path(folder) / 'tracker.db'}"
            runs.append(run("SQLite", channels_url, tracker_url, args.conversations, args.runs))
    if not args.no_postgres:
        url = postgres_url()
        runs.append(run("PostgreSQL", url, url, args.conversations, args.runs))
    for page, built in runs:
        lines += page
        summary.append(built)
    print("\n".join([*lines, "", *summary]))


if __name__ == "__main__":
    main()
