"""Detects the language of each message, restricted to the bot's four languages.

The detected language is added to the parse output (`language`) and, when it is
reliable, as a `language` entity with the role `detected`; the domain maps that
entity onto the `language` slot (unless NLU could not read the message at all).
Unreliable detections add no entity, so short messages ("ok", "так", "👍") keep
the conversation's language. Reliable means: two different words or more, a
confident best language, and real words: lingua reads keyboard noise ("lkjh poiu
mnbv", "фывап олдж") as English or Russian with confidence, so at least half of
the words must be words of the training data (the vocabulary learnt in training). A message
none of whose words is one of those or close to one is marked not `readable`
(components.unreadable sends it to the fallback).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.languages import LANGUAGES
from components.folding import fold

LANGUAGE_ATTRIBUTE = "language"
VOCABULARY_FILE = "vocabulary.json"
OUT_OF_SCOPE = "out_of_scope"
MIN_LETTERS_FOR_NEAR = 5  # shorter words count as known only when exactly known
DETECTED_ROLE = "detected"
EXTRACTOR_NAME = "LanguageDetector"

# The bot's languages (common/languages.py) by their ISO 639-1 codes, which lingua knows too.
_LINGUA_TO_CODE = {Language.from_iso_code_639_1(IsoCode639_1.from_str(code)): code for code in LANGUAGES}
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
# Values and names that read the same in every language tell nothing about it.
_NEUTRAL = re.compile(
    r"\S+@\S+|https?://\S+|\S+\.(?:gov\.)?pl\S*|\d+"
    r"|\b(?:pesel|ikp|pz|profil\w*|zaufan\w*|pacjent\w*|mojeikp|urz[aą]d\w*|gminy|miasta|e-?mail|ok|okay)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")

# Lingua reads short Cyrillic phrases poorly ("що таке" comes out Russian), yet Ukrainian and
# Russian each have letters and everyday words the other lacks: these decide when only one
# side shows any.
_MARKERS = {
    "uk": (
        re.compile(r"[іїєґ]|[^\W\d_]['’ʼ][^\W\d_]", re.IGNORECASE),
        frozenset(
            ["що", "як", "це", "чи", "де", "коли", "але", "мені", "мій", "моє", "ще", "теж", "треба"]
            + ["можна", "вже", "зараз", "дуже", "ласка", "дякую", "вибачте", "немає"]
        ),
    ),
    "ru": (
        re.compile(r"[ыэъё]", re.IGNORECASE),
        frozenset(
            ["что", "как", "это", "где", "когда", "но", "мне", "мой", "моё", "ещё", "еще", "тоже"]
            + ["нужно", "можно", "уже", "сейчас", "здесь", "очень", "пожалуйста", "спасибо", "нет"]
        ),
    ),
}


@dataclass(frozen=True)
class Detection:
    code: str
    confidence: float
    reliable: bool
    # False when no word is one of the training data's or close to one (keyboard noise)
    readable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "confidence": round(self.confidence, 3),
            "reliable": self.reliable,
            "readable": self.readable,
        }


def _looks_transliterated(words: list[str], translit_words: frozenset[str]) -> bool:
    """Ukrainian or Russian typed in Latin letters: lingua reads it as pl or en."""
    hits = sum(1 for word in words if word.lower() in translit_words)
    return hits >= 1 and hits * 3 >= len(words)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class LanguageDetector(GraphComponent):
    """Language identification with lingua, plus a confidence rule for short messages."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # A detection counts only with this many different words (after neutral terms are
            # removed): one word ("tak", "dziękuję") never switches the conversation ...
            "min_words": 2,
            # ... at least this share of them words of the training data ...
            "min_known_share": 0.5,
            # ... and this confidence for the best language.
            "min_confidence": 0.7,
            # A word this similar (difflib's ratio) to a word of the training data is a typo of
            # it, not noise.
            "near_word_similarity": 0.75,
            "max_chars": 500,
            "translit_words_file": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        detector: LinguaDetector,
        translit: frozenset[str],
        vocabulary: frozenset[str] | None = None,
        storage: tuple[ModelStorage, Resource] | None = None,
    ) -> None:
        self._config = config
        self._detector = detector
        self._translit = translit
        # None before training: then every word counts as known.
        self._vocabulary = vocabulary
        self._by_initial = _by_initial(vocabulary or frozenset())
        self._storage = storage

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        translit = _load_translit_words(config.get("translit_words_file"))
        return cls(config, _lingua(), translit, None, (model_storage, resource))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LanguageDetector:
        with model_storage.read_from(resource) as directory:
            words = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        translit = _load_translit_words(config.get("translit_words_file"))
        return cls(config, _lingua(), translit, frozenset(words), (model_storage, resource))

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the vocabulary: every word of the training examples, folded, but for the
        out_of_scope examples, which hold keyboard noise on purpose ("asdfgh")."""
        words = {
            word
            for example in training_data.training_examples
            if example.get(INTENT) != OUT_OF_SCOPE
            for word in _folded_words(example.get(TEXT) or "")
        }
        self._vocabulary = frozenset(words)
        self._by_initial = _by_initial(self._vocabulary)
        assert self._storage is not None, "Rasa creates every component it trains with its storage"
        model_storage, resource = self._storage
        with model_storage.write_to(resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps(sorted(words), ensure_ascii=False), encoding="utf-8"
            )
        return resource

    def detect(self, text: str) -> Detection | None:
        """Best language of `text`; `reliable` says whether it may switch the conversation."""
        # The opening of a long message says enough, and keeps detection fast.
        content = _NEUTRAL.sub(" ", (text or "")[: self._config["max_chars"]])
        words = _WORD.findall(content)
        if not words:
            return None
        languages = list(_LINGUA_TO_CODE)
        cyrillic = bool(_CYRILLIC.search(content))
        if cyrillic:
            # Cyrillic text is uk or ru; the Latin words in it are Polish terms mixed in.
            words = [w for w in words if _CYRILLIC.search(w)]
            languages = [Language.UKRAINIAN, Language.RUSSIAN]
        values = self._detector.compute_language_confidence_values(" ".join(words))
        ranked = [v for v in values if v.language in languages]
        total = sum(v.value for v in ranked) or 1.0
        best = ranked[0]
        confidence = best.value / total
        marked = _marked_language(words) if cyrillic else None
        if marked:
            best = next(v for v in ranked if _LINGUA_TO_CODE[v.language] == marked)
            confidence = max(best.value / total, self._config["min_confidence"])
        # One-letter words ("w", "я", the "k" of "dmytro_k") say little of the language.
        counted = {fold(word.lower()) for word in words if len(word) > 1}
        known_share = self._known_share(counted)
        reliable = (
            len(counted) >= self._config["min_words"]
            and known_share >= self._config["min_known_share"]
            and confidence >= self._config["min_confidence"]
        )
        if not cyrillic and _looks_transliterated(words, self._translit):
            reliable = False
        readable = (
            known_share > 0 or any(self._near_known(word) for word in counted)
        ) and not _mostly_symbols(text)
        return Detection(_LINGUA_TO_CODE[best.language], confidence, reliable, readable)

    def _known_share(self, words: set[str]) -> float:
        if self._vocabulary is None:
            return 1.0
        return sum(1 for word in words if word in self._vocabulary) / len(words) if words else 0.0

    def _near_known(self, word: str) -> bool:
        """A typo of a word of the training data ("goodbay", "diakuiu")? Only words with the same
        first letter are compared, so that this stays cheap."""
        if len(word) < MIN_LETTERS_FOR_NEAR:
            return False  # "poiu" is as near to "pomu" as any noise is to some short word
        candidates = self._by_initial.get(word[:1], ())
        return bool(
            difflib.get_close_matches(word, candidates, n=1, cutoff=self._config["near_word_similarity"])
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._annotate(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            if message.get(TEXT):
                detection = self.detect(message.get(TEXT))
                if detection:
                    message.set(LANGUAGE_ATTRIBUTE, detection.as_dict())
        return training_data

    def _annotate(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        if text.startswith("/"):
            return  # a button payload: no language in it
        detection = self.detect(text)
        if detection is None:
            return
        message.set(LANGUAGE_ATTRIBUTE, detection.as_dict(), add_to_output=True)
        if detection.reliable:
            entity = {
                "entity": "language",
                "role": DETECTED_ROLE,
                "value": detection.code,
                "start": 0,
                "end": len(text),
                "confidence_entity": round(detection.confidence, 3),
                "extractor": EXTRACTOR_NAME,
            }
            message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)


def _marked_language(words: list[str]) -> str | None:
    """uk or ru when only that language's own letters or everyday words appear, else None."""
    found = {
        code
        for code, (letters, common_words) in _MARKERS.items()
        if any(letters.search(word) or word.lower() in common_words for word in words)
    }
    return found.pop() if len(found) == 1 else None


def _by_initial(vocabulary: frozenset[str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for word in vocabulary:
        grouped.setdefault(word[:1], []).append(word)
    return {initial: tuple(words) for initial, words in grouped.items()}


def _lingua() -> LinguaDetector:
    # Loaded now, with the model: lingua loads a language's models on its first message otherwise,
    # 0.3 to 0.4 s of CPU each (Polish, Russian) that a person waits for after every start of
    # Rasa (in `make scale-test` 12 % of Rasa's CPU went there: py-spy).
    return LanguageDetectorBuilder.from_languages(*_LINGUA_TO_CODE).with_preloaded_language_models().build()


def _folded_words(text: str) -> set[str]:
    return {fold(word.lower()) for word in _WORD.findall(text)}


def _load_translit_words(path: str | None) -> frozenset[str]:
    if not path:
        return frozenset()
    with open(path, encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip() and not line.startswith("#"))


def _mostly_symbols(text: str) -> bool:
    """Code or markup ("{% print(7*7) %}"), not words: at least as many symbols as letters.
    Emoji and punctuation at the end of a sentence do not weigh against a few words."""
    letters = sum(ch.isalpha() for ch in text)
    symbols = sum(ch in "{}[]()<>%$*=/\\|`^~#;&+'\"" for ch in text)
    return symbols >= max(letters, 1)
