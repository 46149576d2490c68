"""Teaching the bot from its failures: what a failed message may be labelled with, and the test
sets a label must stay out of.

Staff label a group of the failures page (channels/insights.py) with the intent or FAQ answer it
should have been, or "new topic"; the console stores the label (channels/models.py, FailureLabel)
and `make learn` (scripts/learn.py) writes the reviewed examples into bot/data/nlu/<lang>.yml.

The labels come from the bot's own data: the intents of the domain (bot/domain/core.yml) and the
FAQ answers the training data has (`faq/<key>` in bot/data/nlu), named by their titles in
knowledge/faq. A text in the development or held-out set (tests/nlu/dev_*.yml, heldout_*.yml) is
refused: compared case-, accent- and whitespace-insensitively, after the same masking as the
failures page, so that a test sentence never becomes a training example.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from common.pii import for_analytics as mask

# libyaml's loader when PyYAML has it: the NLU data and the test sets are some 20,000 lines.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
REPO_ROOT = Path(__file__).resolve().parents[1]
NEW_TOPIC = "new_topic"
# The domain's retrieval intent: labels name one of its answers (faq/<key>), never the whole.
RETRIEVAL_INTENT = "faq"
# Rasa's entity annotations: [text](entity) and [text]{"entity": …}.
# Letters with a stroke have no decomposition into a base letter and an accent.
_UNDECOMPOSED = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ı": "i"})
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Label:
    """A label staff may choose: an intent, an FAQ answer (faq/<key>) or "new topic"; `names`
    are its readable names in the console's languages (intents are named by console.js)."""

    value: str
    kind: str  # "intent" | "faq" | "new_topic"
    names: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "kind": self.kind, "names": self.names}


def fold(text: str) -> str:
    """The key a text is compared by: masked like the failures page, entity annotations dropped,
    accents and case folded, whitespace ignored ("Jak dostać  PESEL" = "jak dostac pesel")."""
    text = mask(_ANNOTATION.sub(r"\1", text))
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    return "".join(char for char in decomposed if not unicodedata.combining(char) and not char.isspace())


def digest(text: str, language: str | None) -> str:
    """A message group's fingerprint (its masked, normalised text and language): the audit log
    refers to a label by it, never by the text."""
    return hashlib.sha256(f"{language or ''}\n{text}".encode()).hexdigest()


def nlu_examples(path: Path) -> Iterator[tuple[str, str]]:
    """(intent, plain text) of every example of a Rasa NLU YAML file, in either form Rasa reads:
    a block of "- text" lines, or a list of {text, metadata}."""
    return nlu_examples_of(path.read_text(encoding="utf-8"))


def nlu_examples_of(content: str) -> Iterator[tuple[str, str]]:
    """nlu_examples of a file's content."""
    data = yaml.load(content, Loader=_LOADER) or {}
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue  # regex, synonym and lookup blocks
        yield from ((str(intent), text) for text in _texts(block.get("examples")))


def _texts(examples: Any) -> Iterator[str]:
    if isinstance(examples, str):
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield _ANNOTATION.sub(r"\1", line[2:].strip())
    elif isinstance(examples, list):
        for example in examples:
            text = example.get("text") if isinstance(example, dict) else example
            if isinstance(text, str) and text.strip():
                yield _ANNOTATION.sub(r"\1", text.strip())


class EvaluationSets:
    """The folded texts of the development and held-out sets, and the file each is in."""

    def __init__(self, folder: Path) -> None:
        self._where: dict[str, str] = {}
        for path in sorted([*folder.glob("dev_*.yml"), *folder.glob("heldout_*.yml")]):
            for _intent, text in nlu_examples(path):
                self._where.setdefault(fold(text), path.name)

    def __len__(self) -> int:
        return len(self._where)

    def find(self, text: str) -> str | None:
        """The test-set file that has this text (folded), or None."""
        return self._where.get(fold(text))


@cache
def evaluation_sets(root: Path = REPO_ROOT) -> EvaluationSets:
    return EvaluationSets(root / "tests" / "nlu")


def domain_intents(root: Path = REPO_ROOT) -> list[str]:
    data = yaml.safe_load((root / "bot" / "domain" / "core.yml").read_text(encoding="utf-8"))
    return [str(intent) for intent in data.get("intents") or [] if intent != RETRIEVAL_INTENT]


def faq_keys(root: Path = REPO_ROOT) -> list[str]:
    """The FAQ answers the training data has examples of (faq/<key>), in their order there."""
    keys: dict[str, None] = {}
    for path in sorted((root / "bot" / "data" / "nlu").glob("*.yml")):
        for intent, _text in nlu_examples(path):
            if intent.startswith(f"{RETRIEVAL_INTENT}/"):
                keys.setdefault(intent.split("/", 1)[1])
    return list(keys)


@cache
def catalog(root: Path = REPO_ROOT) -> tuple[Label, ...]:
    """Every label staff may choose: the domain's intents, the FAQ answers, then "new topic"."""
    labels = [Label(intent, "intent", {}) for intent in domain_intents(root)]
    for key in faq_keys(root):
        faq = yaml.safe_load((root / "knowledge" / "faq" / f"{key}.yml").read_text(encoding="utf-8"))
        titles = faq.get("title") or {}
        labels.append(Label(f"{RETRIEVAL_INTENT}/{key}", "faq", {"pl": titles["pl"], "en": titles["en"]}))
    labels.append(Label(NEW_TOPIC, "new_topic", {}))
    return tuple(labels)


def label_values(labels: Iterable[Label]) -> set[str]:
    return {label.value for label in labels}
