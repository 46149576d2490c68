"""Typed commands: what a button does, written in words ("далі", "anuluj", "назад", "👍").

People type "далі", "dalej", "ok", "stop", "скасувати" or "назад" instead of pressing a button, in
any of the four languages, often without diacritics or with a typo. A statistical classifier
may read such a short message as anything (before this component, "anuluj" inside a form was
nlu_fallback and "скасувати" out_of_scope, so a form took them for a wrong PESEL). A message
that is nothing but a command of typed_commands.yml gets that intent with certainty; so does a
message that is nothing but a request for a language ("можна польською?", "in English please":
the language name found by components.language_names, the rest request words). Everything
else keeps the classifier's ranking. A command also carries no sign of the language ("в меню" is
Ukrainian and Russian alike), so the detected language is dropped from it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.folding import fold
from components.language_detector import DETECTED_ROLE
from components.language_names import ENTITY as LANGUAGE
from components.language_names import LanguageNames

SWITCH_LANGUAGE = "switch_language"
STUCK = "help"
# "I'm stuck" followed by this many words at most is still "I'm stuck" ("не получается войти").
MAX_WORDS_AFTER_STUCK = 2
# A phrase this long or longer also matches with a typo (difflib's similarity at least this).
MIN_LETTERS_FOR_TYPOS = 5
MAX_LETTERS_FOR_TYPOS = 40  # commands are short: longer text is not compared letter by letter
TYPO_SIMILARITY = 0.85
_NOT_A_WORD = re.compile(r"[^\w'\s-]+")
_DASHES = re.compile(r"(?<!\w)-|-(?!\w)")
_SPACES = re.compile(r"\s+")


def normalized(text: str) -> str:
    """Folded, without punctuation, emoji or extra spaces ("Далі ▶️!" -> "далі")."""
    text = _NOT_A_WORD.sub(" ", fold(text.lower()))
    return _SPACES.sub(" ", _DASHES.sub(" ", text)).strip()


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[str, str]  # normalized phrase -> intent
    emoji: dict[str, str]
    courtesy: tuple[str, ...]
    request_words: frozenset[str]
    long_phrases: tuple[str, ...]  # those a typo may match

    @classmethod
    def load(cls, path: str) -> Lexicon:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        phrases: dict[str, str] = {}
        for intent, written in data["commands"].items():
            for phrase in written:
                key = normalized(phrase)
                if phrases.get(key, intent) != intent:
                    raise ValueError(f"'{phrase}' is a command of both {phrases[key]} and {intent}")
                phrases[key] = intent
        courtesy = tuple(sorted((normalized(c) for c in data["courtesy"]), key=len, reverse=True))
        request_words = frozenset(normalized(w) for w in data["language_request_words"])
        long_phrases = tuple(p for p in phrases if len(p) >= MIN_LETTERS_FOR_TYPOS)
        return cls(phrases, data["emoji"], courtesy, request_words, long_phrases)

    def command(self, text: str) -> str | None:
        """The intent of a message that is only a command, else None."""
        words = self._without_courtesy(normalized(text))
        if not words:
            return self._emoji_command(text)
        if words in self.phrases:
            return self.phrases[words]
        one_word_intents = {self.phrases.get(word) for word in words.split()}
        if one_word_intents == {"deny", "cancel"}:
            return "cancel"  # "ні, відміна", "no, stop"
        if len(one_word_intents) == 1 and None not in one_word_intents:
            return one_word_intents.pop()  # "ok dalej", "stop stop"
        stuck = self._stuck_with_a_few_words(words)
        if stuck:
            return stuck
        if MIN_LETTERS_FOR_TYPOS <= len(words) <= MAX_LETTERS_FOR_TYPOS:
            close = difflib.get_close_matches(words, self.long_phrases, n=1, cutoff=TYPO_SIMILARITY)
            if close:
                return self.phrases[close[0]]
        return None

    def _stuck_with_a_few_words(self, words: str) -> str | None:
        """ "I'm stuck" and a word or two more: "не получается войти", "nie wychodzi mi z tym"."""
        for phrase, intent in self.phrases.items():
            rest = words[len(phrase) :].split() if words.startswith(phrase + " ") else []
            if intent == STUCK and 0 < len(rest) <= MAX_WORDS_AFTER_STUCK:
                return intent
        return None

    def only_requests(self, text: str) -> bool:
        """Whether `text` has nothing but request words ("можна", "po", "please", …)."""
        words = self._without_courtesy(normalized(text)).split()
        return all(word in self.request_words for word in words)

    def _without_courtesy(self, words: str) -> str:
        padded = f" {words} "
        for phrase in self.courtesy:
            padded = padded.replace(f" {phrase} ", " ")
        return padded.strip()

    def _emoji_command(self, text: str) -> str | None:
        found = {intent for emoji, intent in self.emoji.items() if emoji.rstrip("\ufe0f") in text}
        return found.pop() if len(found) == 1 else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class TypedCommandClassifier(GraphComponent):
    """Sets the intent of typed commands and bare language requests, with confidence 1."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "commands_file": "components/typed_commands.yml",
            "names_file": "components/language_names.yml",
        }

    def __init__(self, lexicon: Lexicon, names: LanguageNames) -> None:
        self._lexicon = lexicon
        self._names = names

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TypedCommandClassifier:
        return cls(Lexicon.load(config["commands_file"]), LanguageNames.load(config["names_file"]))

    def intent_of(self, text: str) -> str | None:
        """The certain intent of `text`, or None when the classifier's ranking should stand."""
        if not text or text.startswith("/"):
            return None  # a button payload names its intent itself
        if self._names.mentions(text):
            rest = self._names.without_mentions(text)
            return SWITCH_LANGUAGE if self._lexicon.only_requests(rest) else None
        return self._lexicon.command(text)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = self.intent_of(message.get(TEXT) or "")
            if intent:
                _set_certain_intent(message, intent)
            if intent and intent != SWITCH_LANGUAGE:
                _forget_detected_language(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _forget_detected_language(message: Message) -> None:
    """A command says nothing of the language: "в меню", "ok dalej" read the same in several."""
    entities = message.get(ENTITIES) or []
    kept = [e for e in entities if not (e.get("entity") == LANGUAGE and e.get("role") == DETECTED_ROLE)]
    if len(kept) != len(entities):
        message.set(ENTITIES, kept, add_to_output=True)


def _set_certain_intent(message: Message, intent: str) -> None:
    certain = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT, certain, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY,
        [certain] + [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in others],
        add_to_output=True,
    )
