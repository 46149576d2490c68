"""Finds the language a person names ("польською", "po angielsku", "in Russian", "русский язык").

A request for a language must switch it whatever the statistical models make of the sentence, so
the `language` entity comes from regular expressions over the stems of the four languages' names,
as they are written in each of the four languages, without diacritics and in Latin letters
(language_names.yml). It replaces the CRF's guess when it finds a name; the detected language
(role `detected`, components.language_detector) is left alone.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.folding import fold

ENTITY = "language"
EXTRACTOR_NAME = "LanguageNameExtractor"


class LanguageNames:
    """The stems of the languages' names, and where a text names one."""

    def __init__(self, stems: dict[str, list[str]], negations: list[str]) -> None:
        self._patterns = {
            code: re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")", re.IGNORECASE)
            for code, patterns in stems.items()
        }
        self._negated = re.compile(r"(?<!\w)(?:" + "|".join(negations) + r")\s+(?:\w+\s+)?$", re.IGNORECASE)

    @classmethod
    def load(cls, path: str) -> LanguageNames:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        return cls(data["stems"], data["negations"])

    def mentions(self, text: str) -> list[tuple[str, int, int]]:
        """(code, start, end) of every language named in `text`, in order."""
        folded = fold(text.lower())  # same length as `text`: fold maps one character to one
        found = [
            (code, match.start(), match.end())
            for code, pattern in self._patterns.items()
            for match in pattern.finditer(folded)
        ]
        return sorted(found, key=lambda mention: mention[1])

    def requested(self, text: str) -> tuple[str, int, int] | None:
        """The language asked for: the last one named that is not negated ("не польською, а англійською")."""
        folded = fold(text.lower())
        wanted = [m for m in self.mentions(text) if not self._negated.search(folded[: m[1]])]
        return wanted[-1] if wanted else None

    def without_mentions(self, text: str) -> str:
        """`text` folded, with every language name taken out."""
        folded = fold(text.lower())
        for _, start, end in reversed(self.mentions(text)):
            folded = folded[:start] + " " + folded[end:]
        return folded


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageNameExtractor(GraphComponent):
    """Adds the `language` entity for a language the message names."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"names_file": "components/language_names.yml"}

    def __init__(self, names: LanguageNames) -> None:
        self._names = names

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageNameExtractor:
        return cls(LanguageNames.load(config["names_file"]))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._extract(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _extract(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        if text.startswith("/"):
            return  # a button payload carries its entities itself
        requested = self._names.requested(text)
        if requested is None:
            return
        code, start, end = requested
        kept = [
            entity
            for entity in message.get(ENTITIES, [])
            if not (entity.get("entity") == ENTITY and not entity.get("role"))
        ]
        entity = {
            "entity": ENTITY,
            "value": code,
            "start": start,
            "end": end,
            "confidence_entity": 1.0,
            "extractor": EXTRACTOR_NAME,
        }
        message.set(ENTITIES, kept + [entity], add_to_output=True)
