"""`make learn`: writes the examples staff labelled on the console's failures page into the NLU
training data, for a person to review (git diff), train (make train) and score (make eval-dev).

Where the labels come from: the channel service's database (CHANNELS_DATABASE_URL, as the service
itself reads it; `--database-url` for another, e.g. a copy of production's), table
`failure_labels`, read only. Where they go: a marked section at the end of each
bot/data/nlu/<lang>.yml, below the line LEARNED_MARKER, one `- intent:` block per label there.
The data above the line is never changed; the section is valid Rasa NLU YAML (`make validate`).

What is written, per label (the newest label of a message wins):
- an intent or faq/<key>: the masked, normalised text, unless it is already in the training data
  (any language, compared case-, accent- and whitespace-insensitively) or in a test set
  (tests/nlu/dev_*.yml, heldout_*.yml: refused, as the console refuses it);
- "new topic": never written; listed for a person (a new intent needs answers and stories first);
- a text with masked personal data (<pesel>, <email>, <phone>), without a language, or with what
  Rasa would read as an entity annotation: listed for a person to write by hand.

The section remembers the time of the newest label it took (`# labels up to: …`): a later run adds
only newer labels, so a line deleted from the section by a reviewer stays deleted. A message
labelled again later moves to its new intent. Nothing is ever written under tests/.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from channels.learning import (
    NEW_TOPIC,
    REPO_ROOT,
    EvaluationSets,
    catalog,
    fold,
    label_values,
    nlu_examples_of,
)
from channels.models import FailureLabel
from channels.texts import LANGUAGES
from common.db import make_engine

LEARNED_MARKER = "# Learned from the failures page (make learn)"
SECTION_HEADER = f"""{LEARNED_MARKER}
# Written by scripts/learn.py from the labels staff gave on the console's failures page: masked,
# de-duplicated against everything above and against the test sets (tests/nlu). Review with git
# diff; to drop an example, delete its line. Hand-written examples go above the marker line.
"""
THROUGH = re.compile(r"^# labels up to: (\S+)\s*$", re.MULTILINE)
MASKED = re.compile(r"<(?:pesel|email|phone)>")
# What Rasa's example reader would take for an entity annotation ([x](e), [x]{…}, [x][…]).
ANNOTATION_LIKE = re.compile(r"\[[^\]]*\]\s*[({\[]")


@dataclass(frozen=True)
class Labelled:
    """A label as `make learn` reads it from the channel service's database."""

    text: str
    language: str | None
    label: str
    staff_username: str
    created_at: datetime


@dataclass
class Report:
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    duplicates: int = 0
    earlier: int = 0
    refused: list[tuple[Labelled, str]] = field(default_factory=list)
    new_topics: list[Labelled] = field(default_factory=list)
    by_hand: list[tuple[Labelled, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            "make learn: "
            + ", ".join(f"{language} +{self.added[language]}" for language in LANGUAGES)
            + f"; already in the training data: {self.duplicates}; taken by an earlier run: {self.earlier}"
        ]
        for item, test_set in self.refused:
            out.append(f"  refused, in the test set tests/nlu/{test_set}: [{item.language}] {item.text}")
        if self.by_hand:
            out.append("Write these by hand, if at all:")
            out.extend(
                f"  [{item.language or '?'}] {item.label}: {item.text} ({why})" for item, why in self.by_hand
            )
        if self.new_topics:
            out.append("New topics (not written; a new intent needs answers and stories first):")
            out.extend(
                f"  [{item.language or '?'}] {item.text} (by {item.staff_username}, "
                f"{item.created_at:%Y-%m-%d %H:%M} UTC)"
                for item in self.new_topics
            )
        if sum(self.added.values()):
            out.append("Then: git diff bot/data/nlu, make train, make eval-dev.")
        return out


@dataclass
class Section:
    """The learned section of one NLU file: {intent: [text, …]} and the newest label it took."""

    through: datetime | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)

    def remove(self, key: str) -> None:
        for intent, texts in self.examples.items():
            self.examples[intent] = [text for text in texts if fold(text) != key]

    def render(self, order: Sequence[str]) -> str:
        through = self.through.isoformat() if self.through else ""
        blocks = [SECTION_HEADER + f"# labels up to: {through}\n"]
        rank = {intent: index for index, intent in enumerate(order)}
        for intent in sorted(self.examples, key=lambda name: (rank.get(name, len(rank)), name)):
            texts = self.examples[intent]
            if texts:
                lines = "".join(f"    - {text}\n" for text in texts)
                blocks.append(f"- intent: {intent}\n  examples: |\n{lines}")
        return "".join(blocks)


def split(content: str) -> tuple[str, Section]:
    """The hand-written part of a file and its learned section (empty when it has none)."""
    at = content.find(f"\n{LEARNED_MARKER}")
    if at < 0:
        return content, Section()
    hand, learned = content[: at + 1], content[at + 1 :]
    found = THROUGH.search(learned)
    through = datetime.fromisoformat(found.group(1)) if found else None
    section = Section(through=through)
    for block in yaml.safe_load("nlu:\n" + learned).get("nlu") or []:
        intent = str(block["intent"])
        texts = [line.strip()[2:].strip() for line in str(block.get("examples") or "").splitlines()]
        section.examples.setdefault(intent, []).extend(text for text in texts if text)
    return hand, section


def learn(labels: Iterable[Labelled], nlu_dir: Path, tests_dir: Path, write: bool = True) -> Report:
    """Adds the labels to the learned sections of nlu_dir/<lang>.yml (see the module's docstring)."""
    target = nlu_dir.resolve()
    if any(target.is_relative_to(tests) for tests in (tests_dir.resolve(), REPO_ROOT / "tests")):
        raise ValueError(f"{nlu_dir}: make learn never writes into the tests")
    files = {language: nlu_dir / f"{language}.yml" for language in LANGUAGES}
    contents = {language: path.read_text(encoding="utf-8") for language, path in files.items()}
    parts = {language: split(content) for language, content in contents.items()}
    known = label_values(catalog())
    order = [label.value for label in catalog()]
    evaluation = EvaluationSets(tests_dir)
    # Everything hand-written, in every language: a learned example must add something.
    written = _hand_written_keys(hand for hand, _section in parts.values())
    report = Report()
    # A section keeps what it has unless it is hand-written now or in a test set.
    for _language, (_hand, section) in parts.items():
        for intent, texts in section.examples.items():
            section.examples[intent] = [
                text for text in texts if fold(text) not in written and evaluation.find(text) is None
            ]
    for item in sorted(labels, key=lambda labelled: labelled.created_at):
        if item.label == NEW_TOPIC:
            report.new_topics.append(item)
            continue
        if item.language not in files:
            report.by_hand.append((item, "language unknown"))
            continue
        section = parts[item.language][1]
        if section.through is not None and item.created_at <= section.through:
            report.earlier += 1
            continue
        section.through = max(section.through or item.created_at, item.created_at)
        why = _not_writable(item, known)
        if why:
            report.by_hand.append((item, why))
            continue
        test_set = evaluation.find(item.text)
        if test_set is not None:
            report.refused.append((item, test_set))
            continue
        key = fold(item.text)
        if key in written:
            report.duplicates += 1
            continue
        # The newest label of a message wins: it leaves any other intent of the section.
        for _hand, other in parts.values():
            other.remove(key)
        section.examples.setdefault(item.label, []).append(item.text)
        report.added[item.language] += 1
    if write:
        for language, path in files.items():
            hand, section = parts[language]
            if LEARNED_MARKER not in contents[language] and not any(section.examples.values()):
                continue  # nothing learned yet: the file stays as it is
            path.write_text(hand.rstrip("\n") + "\n" + section.render(order), encoding="utf-8")
    return report


def _hand_written_keys(hand: Iterable[str]) -> set[str]:
    return {fold(text) for content in hand for _intent, text in nlu_examples_of(content)}


def _not_writable(item: Labelled, known: set[str]) -> str:
    if item.label not in known:
        return f"{item.label!r} is no longer an intent of the bot"
    if MASKED.search(item.text):
        return "it has masked personal data: write an example with a made-up value"
    if ANNOTATION_LIKE.search(item.text) or not item.text.isprintable():
        return "Rasa would misread its brackets or characters"
    return ""


def read_labels(database_url: str) -> list[Labelled]:
    """Every label in the channel service's database (read only; none while it has no table)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or not Path(url.database).is_file():
            raise SystemExit(f"make learn: no channel service database at {url.database}")
        database_url = f"sqlite:///file:{Path(url.database).resolve()}?mode=ro&uri=true"
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(FailureLabel.__tablename__):
                return []
            rows = connection.execute(select(FailureLabel).order_by(FailureLabel.id)).mappings().all()
    finally:
        engine.dispose()
    return [_labelled(row) for row in rows]


def _labelled(row: Any) -> Labelled:
    created: datetime = row["created_at"]
    return Labelled(
        text=str(row["text"]),
        language=row["language"],
        label=str(row["label"]),
        staff_username=str(row["staff_username"]),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
    )


def main(argv: Sequence[str] | None = None) -> int:
    from channels.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", help="the channel service's database (default: CHANNELS_DATABASE_URL)"
    )
    parser.add_argument("--nlu", type=Path, default=REPO_ROOT / "bot" / "data" / "nlu")
    parser.add_argument("--tests", type=Path, default=REPO_ROOT / "tests" / "nlu")
    parser.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    args = parser.parse_args(argv)
    labels = read_labels(args.database_url or Settings().channels_database_url)
    report = learn(labels, args.nlu, args.tests, write=not args.dry_run)
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
